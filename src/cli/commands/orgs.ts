/** `wharf org …` and `wharf team …`: organizations, their members and teams. */
import { SYSTEM } from '../../auth/principal.ts';
import { type Command, defineCommand } from '../command.ts';

const orgArg = { name: 'ORG', description: 'organization name' } as const;

interface TeamRow {
  name: string;
  description: string;
  members: { username: string; role: 'maintainer' | 'member' }[];
}

const TEAM_COLUMNS = [
  { header: 'team', value: (t: TeamRow) => t.name },
  { header: 'members', value: (t: TeamRow) => t.members.map((m) => (m.role === 'maintainer' ? `${m.username} (maintainer)` : m.username)).join(', ') },
  { header: 'description', value: (t: TeamRow) => t.description },
] as const;

export const orgCommands: readonly Command[] = [
  defineCommand({
    name: 'org create',
    summary: 'Create an organization with its first owner',
    details:
      'An organization always has an owner who can manage it (members, teams, package settings,\nCI trusts); --owner names that user. Site administrators can manage every organization too.',
    args: [{ name: 'NAME', description: 'organization name: 1-39 lowercase letters, digits and . _ -' }],
    options: { owner: { type: 'string', value: 'USER', required: true, description: 'the first owner (an existing user)' } },
    json: true,
    examples: ['wharf org create acme --owner alice'],
    async run({ args, options, json, out, runtime }) {
      const { accounts } = await runtime.access();
      await accounts.createOrg(SYSTEM, args.NAME, { owner: options.owner });
      if (json) out.json(await accounts.orgView(SYSTEM, args.NAME));
      else out.line(`created organization ${args.NAME} owned by ${options.owner}`);
    },
  }),
  defineCommand({
    name: 'org list',
    summary: 'List organizations and their owners',
    json: true,
    async run({ json, out, runtime }) {
      const orgs = await (await runtime.access()).accounts.listOrgs(SYSTEM);
      if (json) out.json(orgs);
      else
        out.table(orgs, [
          { header: 'org', value: (o) => o.name },
          { header: 'owners', value: (o) => o.owners.join(',') },
          { header: 'members', value: (o) => o.members },
          { header: 'default visibility', value: (o) => o.defaultVisibility },
          { header: 'created', value: (o) => o.createdAt },
        ]);
    },
  }),
  defineCommand({
    name: 'org show',
    summary: 'Show an organization: its members and teams',
    args: [orgArg],
    json: true,
    async run({ args, json, out, runtime }) {
      const org = await (await runtime.access()).accounts.orgView(SYSTEM, args.ORG);
      if (json) {
        out.json(org);
        return;
      }
      out.line(`organization ${org.name} (default visibility ${org.defaultVisibility}, created ${org.createdAt})`);
      out.line('');
      out.table(org.members, [
        { header: 'member', value: (m) => m.username },
        { header: 'role', value: (m) => m.role },
      ]);
      out.line('');
      out.table(org.teams, TEAM_COLUMNS);
    },
  }),
  defineCommand({
    name: 'org member',
    summary: 'Add a user to an organization, or change their role',
    args: [orgArg, { name: 'USER', description: 'username' }],
    options: { role: { type: 'string', choices: ['member', 'owner'], description: 'role in the organization (default member)' } },
    async run({ args, options, out, runtime }) {
      const role = options.role === 'owner' ? 'owner' : 'member';
      await (await runtime.access()).accounts.setOrgMember(SYSTEM, args.ORG, args.USER, role);
      out.line(`${args.USER} is now ${role === 'owner' ? 'an owner' : 'a member'} of ${args.ORG}`);
    },
  }),
  defineCommand({
    name: 'org remove',
    summary: 'Remove a user from an organization',
    details: 'The last owner cannot be removed.',
    args: [orgArg, { name: 'USER', description: 'username' }],
    async run({ args, out, runtime }) {
      await (await runtime.access()).accounts.removeOrgMember(SYSTEM, args.ORG, args.USER);
      out.line(`removed ${args.USER} from ${args.ORG}`);
    },
  }),
  defineCommand({
    name: 'team create',
    summary: 'Create a team in an organization',
    args: [orgArg, { name: 'TEAM', description: 'team name' }],
    options: { description: { type: 'string', value: 'TEXT', description: 'what the team is for' } },
    async run({ args, options, out, runtime }) {
      await (await runtime.access()).accounts.createTeam(SYSTEM, args.ORG, args.TEAM, options.description ?? '');
      out.line(`created team ${args.ORG}/${args.TEAM}`);
    },
  }),
  defineCommand({
    name: 'team list',
    summary: "List an organization's teams and their members",
    args: [orgArg],
    json: true,
    async run({ args, json, out, runtime }) {
      const { teams } = await (await runtime.access()).accounts.orgView(SYSTEM, args.ORG);
      if (json) out.json(teams);
      else
        out.table(teams, TEAM_COLUMNS);
    },
  }),
  defineCommand({
    name: 'team member',
    summary: 'Add a user to a team',
    details: 'A user who is not yet a member of the organization joins it as a member.',
    args: [orgArg, { name: 'TEAM', description: 'team name' }, { name: 'USER', description: 'username' }],
    options: { role: { type: 'string', choices: ['member', 'maintainer'], description: 'role in the team (default member)' } },
    async run({ args, options, out, runtime }) {
      const role = options.role === 'maintainer' ? 'maintainer' : 'member';
      await (await runtime.access()).accounts.setTeamMember(SYSTEM, args.ORG, args.TEAM, args.USER, role);
      out.line(`${args.USER} is now ${role === 'maintainer' ? 'a maintainer' : 'a member'} of ${args.ORG}/${args.TEAM}`);
    },
  }),
];
