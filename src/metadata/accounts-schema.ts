/** Tables of the accounts-and-access aggregate (migration 0003). Booleans are 0/1 integers. */
export interface AccountsTable {
  name: string;
  kind: 'user' | 'org';
  email: string | null;
  password_hash: string | null;
  is_admin: number;
  default_visibility: string;
  /** Migration 0015: 1 when the owner chose default_visibility, 0 when the site default applies. */
  default_visibility_chosen: number;
  disabled: number;
  created_at: number;
}

export interface OrgMembersTable {
  org: string;
  username: string;
  role: 'owner' | 'member';
}

export interface TeamsTable {
  org: string;
  name: string;
  description: string;
  created_at: number;
}

export interface TeamMembersTable {
  org: string;
  team: string;
  username: string;
  role: 'maintainer' | 'member';
}

export interface GrantsTable {
  repo: string;
  subject_kind: 'user' | 'team';
  /** A username, or `org/team` for teams. */
  subject: string;
  role: 'read' | 'write' | 'admin';
  created_at: number;
}

export interface TokensTable {
  id: string;
  kind: 'pat' | 'refresh';
  username: string;
  name: string;
  hash: string;
  hint: string;
  scopes: string;
  owners: string | null;
  packages: string | null;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  created_at: number;
}

export interface CiTrustsTable {
  id: string;
  owner: string;
  repo: string | null;
  issuer: string;
  audience: string;
  conditions: string;
  role: 'read' | 'write';
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  private_pem: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface AuditLogTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string | null;
  address: string | null;
  /** Migration 0011: principal kind (user, ci, system, anonymous), PAT id, User-Agent, owner concerned, success/failure. */
  actor_kind?: string | null;
  token_id?: string | null;
  user_agent?: string | null;
  owner?: string | null;
  outcome?: string | null;
}

export interface LoginFailuresTable {
  key: string;
  window_start: number;
  count: number;
  /** Migration 0010: time of the latest failure. */
  last_at: number;
}

/** Migration 0010: where each account signed in successfully. */
export interface LoginKnownAddressesTable {
  username: string;
  address: string;
  last_success_at: number;
}

export interface AccountTables {
  accounts: AccountsTable;
  org_members: OrgMembersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  grants: GrantsTable;
  tokens: TokensTable;
  ci_trusts: CiTrustsTable;
  signing_keys: SigningKeysTable;
  audit_log: AuditLogTable;
  login_failures: LoginFailuresTable;
  login_known_addresses: LoginKnownAddressesTable;
}

/** Columns migration 0003 adds to `repositories`. */
export interface PackageColumns {
  visibility: string;
  source: string | null;
  created_by: string | null;
}
