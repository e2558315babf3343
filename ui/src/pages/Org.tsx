import { type FormEvent, useState } from 'react';
import { api, messageOf } from '../api.ts';
import { Badge, Empty } from '../components.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { useConfirm } from '../confirm.tsx';
import type { Org } from '../api.gen.ts';

type Run = (fn: () => Promise<unknown>) => Promise<void>;

/**
 * Errors beside the control that caused them: `attempt(key, fn)` runs a change and keeps its
 * error under `key`; `errorFor(key)` renders it where that control is.
 */
function useFieldErrors(run: Run) {
  const [error, setError] = useState<{ key: string; message: string } | null>(null);
  const attempt = async (key: string, fn: () => Promise<unknown>): Promise<boolean> => {
    setError(null);
    try {
      await run(fn);
      return true;
    } catch (err) {
      setError({ key, message: messageOf(err) });
      return false;
    }
  };
  const errorFor = (key: string) =>
    error?.key === key ? (
      <div className="small error-text" role="alert">
        {error.message}
      </div>
    ) : null;
  return { attempt, errorFor };
}

export function Members({ o, owner, run }: { o: Org; owner: boolean; run: Run }) {
  const confirm = useConfirm();
  const { attempt, errorFor } = useFieldErrors(run);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<'member' | 'owner'>('member');
  const base = `/api/v1/orgs/${encodeURIComponent(o.name)}/members`;
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (await attempt('add', () => api('PUT', `${base}/${encodeURIComponent(username.trim())}`, { role }))) setUsername('');
  };
  return (
    <section className="card" aria-labelledby="members-title">
      <h2 id="members-title">
        Members <span className="count">{o.members.length}</span>
      </h2>
      <div className="table-wrap" tabIndex={0}>
        <table>
          <caption className="sr-only">Members of {o.name}</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              {owner ? (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {o.members.map((m) => (
              <tr key={m.username}>
                <td>
                  <Link to={`/${encodeURIComponent(m.username)}`}>{m.username}</Link>
                </td>
                <td>
                  {owner ? (
                    <>
                      <label htmlFor={`member-role-${m.username}`} className="sr-only">
                        Role of {m.username}
                      </label>
                      <select id={`member-role-${m.username}`} value={m.role} onChange={(e) => void attempt(`role:${m.username}`, () => api('PUT', `${base}/${encodeURIComponent(m.username)}`, { role: e.target.value }))}>
                        <option value="member">Member</option>
                        <option value="owner">Owner</option>
                      </select>
                      {errorFor(`role:${m.username}`)}
                    </>
                  ) : (
                    <Badge>{m.role}</Badge>
                  )}
                </td>
                {owner ? (
                  <td className="actions">
                    <button type="button" className="btn btn-small btn-danger-outline" onClick={() =>
                        confirm.ask({
                          title: `Remove ${m.username} from ${o.name}?`,
                          body: <p>{m.username} leaves every team of {o.name} and loses the access those teams and the organization gave them. Their own packages are not affected.</p>,
                          confirmLabel: 'Remove member',
                          action: () => run(() => api('DELETE', `${base}/${encodeURIComponent(m.username)}`)),
                        })
                      }
                      aria-label={`Remove ${m.username} from ${o.name}`}
                    >
                      Remove
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {owner ? (
        <form className="inline-form" onSubmit={add} aria-label="Add a member">
          <div className="field grow">
            <label htmlFor="member-name">Username</label>
            <input id="member-name" required value={username} onChange={(e) => setUsername(e.target.value)} spellCheck={false} autoCapitalize="none" />
          </div>
          <div className="field">
            <label htmlFor="member-role">Role</label>
            <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as 'member' | 'owner')}>
              <option value="member">Member</option>
              <option value="owner">Owner</option>
            </select>
          </div>
          <button type="submit" className="btn btn-primary">
            Add member
          </button>
          {errorFor('add')}
        </form>
      ) : null}
      {confirm.dialog}
    </section>
  );
}

export function Teams({ o, owner, run }: { o: Org; owner: boolean; run: Run }) {
  const { attempt, errorFor } = useFieldErrors(run);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const confirm = useConfirm();
  const base = `/api/v1/orgs/${encodeURIComponent(o.name)}/teams`;
  const remove = (team: string) =>
    confirm.ask({
      title: `Delete team ${team}?`,
      body: <p>Members lose the access granted to the team; they stay members of {o.name}. Grants to the team are removed from every package.</p>,
      confirmLabel: 'Delete team',
      action: () => run(() => api('DELETE', `${base}/${encodeURIComponent(team)}`)),
    });
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (await attempt('create', () => api('POST', base, { name: name.trim(), description: description.trim() }))) {
      setName('');
      setDescription('');
    }
  };
  return (
    <section className="card" aria-labelledby="teams-title">
      <h2 id="teams-title">
        Teams <span className="count">{o.teams.length}</span>
      </h2>
      <p className="muted small">Grant a team access in a package's settings; every member of the team gets it.</p>
      {o.teams.length === 0 ? (
        <Empty title="No teams yet">
          <p>{owner ? 'Create a team below.' : 'Organization owners create teams.'}</p>
        </Empty>
      ) : (
        o.teams.map((t) => <Team key={t.name} org={o} team={t} owner={owner} run={run} onDelete={() => remove(t.name)} />)
      )}
      {owner ? (
        <form className="form" onSubmit={create} aria-label="Create a team">
          <h3>New team</h3>
          <div className="field">
            <label htmlFor="team-name">Team name</label>
            <input id="team-name" required value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} autoCapitalize="none" placeholder="developers" />
          </div>
          <div className="field">
            <label htmlFor="team-description">Description (optional)</label>
            <input id="team-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <button type="submit" className="btn btn-primary">
            Create team
          </button>
          {errorFor('create')}
        </form>
      ) : null}
      {confirm.dialog}
    </section>
  );
}

function Team({ org, team, owner, run, onDelete }: { org: Org; team: Org['teams'][number]; owner: boolean; run: Run; onDelete(): void }) {
  const { user } = useSession();
  const confirm = useConfirm();
  const { attempt, errorFor } = useFieldErrors(run);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<'member' | 'maintainer'>('member');
  const maintainer = team.members.some((m) => m.username === user?.username && m.role === 'maintainer');
  const manage = owner || maintainer;
  const base = `/api/v1/orgs/${encodeURIComponent(org.name)}/teams/${encodeURIComponent(team.name)}/members`;
  const id = `team-${team.name}`;
  return (
    <div className="team" aria-labelledby={`${id}-title`}>
      <div className="team-head">
        <h3 id={`${id}-title`}>
          {team.name} <span className="count">{team.members.length}</span>
        </h3>
        {owner ? (
          <button type="button" className="btn btn-small btn-danger-outline" onClick={onDelete} aria-label={`Delete team ${team.name}`}>
            Delete
          </button>
        ) : null}
      </div>
      {team.description ? <p className="muted small">{team.description}</p> : null}
      {team.members.length === 0 ? (
        <p className="muted small">No members.</p>
      ) : (
        <ul className="chip-list">
          {team.members.map((m) => (
            <li key={m.username} className="chip">
              {m.username}
              {m.role === 'maintainer' ? <span className="muted"> · maintainer</span> : null}
              {manage ? (
                <button type="button" className="chip-remove" onClick={() =>
                    confirm.ask({
                      title: `Remove ${m.username} from team ${team.name}?`,
                      body: <p>{m.username} loses the access granted to {team.name}; they stay a member of {org.name}.</p>,
                      confirmLabel: 'Remove from team',
                      action: () => run(() => api('DELETE', `${base}/${encodeURIComponent(m.username)}`)),
                    })
                  }
                  aria-label={`Remove ${m.username} from team ${team.name}`}
                >
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {manage ? (
        <form
          className="inline-form compact"
          aria-label={`Add a member to ${team.name}`}
          onSubmit={async (e) => {
            e.preventDefault();
            if (await attempt('add', () => api('PUT', `${base}/${encodeURIComponent(username.trim())}`, { role }))) setUsername('');
          }}
        >
          <div className="field grow">
            <label htmlFor={`${id}-user`}>Add to {team.name}</label>
            <input id={`${id}-user`} required value={username} onChange={(e) => setUsername(e.target.value)} placeholder="username" spellCheck={false} autoCapitalize="none" />
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>Role</label>
            <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as 'member' | 'maintainer')}>
              <option value="member">Member</option>
              <option value="maintainer">Maintainer</option>
            </select>
          </div>
          <button type="submit" className="btn">
            Add
          </button>
          {errorFor('add')}
        </form>
      ) : null}
      {confirm.dialog}
    </div>
  );
}
