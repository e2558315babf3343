/** Shapes of the /api/v1 responses the UI reads (see /api/v1/openapi.json). */

export type Visibility = 'public' | 'internal' | 'private';
export type PackageRole = 'read' | 'write' | 'admin';
export type PackageKind = 'image' | 'chart' | 'artifact';

export interface User {
  username: string;
  email: string | null;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
  orgs: { org: string; role: 'owner' | 'member' }[];
}

export interface SessionInfo {
  signedIn: boolean;
  user: User | null;
  csrfToken: string | null;
}

export interface PackageListItem {
  name: string;
  path: string;
  kind: PackageKind;
  visibility: Visibility;
  latest: string | null;
  versions: number;
  updatedAt: string;
  downloads: number;
  description: string | null;
  source: string | null;
}

export interface OwnerPackages {
  owner: string;
  ownerKind: 'user' | 'org' | null;
  total: number;
  packages: PackageListItem[];
}

export interface FileView {
  mediaType: string;
  digest: string;
  size: number;
  title: string | null;
}

export interface ReferrerView {
  digest: string;
  artifactType: string | null;
  role: 'signature' | 'sbom' | 'attestation' | 'other';
  mediaType: string;
  size: number;
  createdAt: string;
  annotations: Record<string, string>;
  files: FileView[];
}

export interface VersionView {
  digest: string;
  tags: string[];
  version: string | null;
  prerelease: boolean;
  mediaType: string;
  artifactType: string | null;
  size: number;
  createdAt: string;
  downloads: number;
  platforms: { os: string; architecture: string; variant: string | null; digest: string; size: number }[];
  config: FileView | null;
  files: FileView[];
  referrers: ReferrerView[];
  annotations: Record<string, string>;
}

export interface PackageView {
  name: string;
  owner: string;
  path: string;
  kind: PackageKind;
  visibility: Visibility;
  source: string | null;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  viewerRole: PackageRole | null;
  canAdmin: boolean;
  latest: string | null;
  registry: string;
  commands: { docker: string; podman: string } | null;
  image: { digest: string; description: string | null; labels: Record<string, string>; created: string | null; os: string | null; architecture: string | null } | null;
  versions: VersionView[];
  totalVersions: number;
  downloads: { total: number; last30Days: { day: string; count: number }[] };
  related: { name: string; kind: PackageKind; relation: 'chart' | 'image' | 'artifact' }[];
}

export interface ChartVersion {
  repository: string;
  name: string | null;
  version: string | null;
  appVersion: string | null;
  description: string | null;
  prerelease: boolean;
  deprecated: boolean;
  digest: string;
  size: number | null;
  created: string;
  listed: boolean;
  status: 'ok' | 'failed';
  error: string | null;
}

export interface ChartVersions {
  repository: string;
  name: string;
  latest: string | null;
  latestPrerelease: string | null;
  versions: ChartVersion[];
}

export interface ChartDependency {
  name: string;
  version?: string;
  repository?: string;
  condition?: string;
  alias?: string;
}

export interface ChartMetadata {
  name?: string;
  version?: string;
  appVersion?: string;
  description?: string;
  type?: string;
  keywords?: string[];
  home?: string;
  sources?: string[];
  icon?: string;
  maintainers?: { name?: string; email?: string; url?: string }[];
  dependencies?: ChartDependency[];
  kubeVersion?: string;
}

export interface ChartDetail extends ChartVersion {
  metadata: ChartMetadata | null;
  tags: string[];
  readme: { path: string | null; text: string } | null;
  values: string | null;
  valuesSchema: string | null;
  provenance: { digest: string; size: number | null } | null;
  commands: { install: string; pull: string; repoAdd: string } | null;
  files: { chart: string; provenance: string | null } | null;
}

export interface PackageSettings {
  name: string;
  owner: string;
  visibility: Visibility;
  source: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  viewerRole: PackageRole | null;
}

export interface Grant {
  subjectKind: 'user' | 'team';
  subject: string;
  role: PackageRole;
  createdAt: number;
}

export interface Trust {
  id: string;
  owner: string;
  repo: string | null;
  issuer: string;
  audience: string;
  conditions: Record<string, string>;
  role: 'read' | 'write';
}

export interface Token {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  owners: string[] | null;
  packages: string[] | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface PullSecret {
  token: string;
  tokenId: string;
  server: string;
  username: string;
  secretName: string;
  kubectl: string;
  dockerconfigjson: string;
  yaml: string;
}

export interface Org {
  name: string;
  defaultVisibility: Visibility;
  createdAt: string;
  members: { username: string; role: 'owner' | 'member' }[];
  teams: { name: string; description: string; createdAt: string; members: { username: string; role: 'maintainer' | 'member' }[] }[];
  viewerRole: 'owner' | 'member' | null;
}

/** A package or version in the trash (GET /api/v1/owners/:owner/trash). */
export interface TrashEntry {
  id: string;
  kind: 'package' | 'version';
  owner: string;
  package: string;
  digest: string | null;
  tags: string[];
  manifests: number;
  bytes: number;
  trashedBy: string;
  trashedAt: string;
  expiresAt: string;
}

export interface RestoreResult {
  entry: TrashEntry;
  restoredTags: string[];
  keptTags: { name: string; digest: string }[];
}

export interface UsageFigures {
  liveBytes: number;
  trashedBytes: number;
  blobs: number;
  blobBytes: number;
  manifests: number;
  manifestBytes: number;
}

export interface OwnerUsage extends UsageFigures {
  owner: string;
  packages: (UsageFigures & { name: string; trashed: boolean })[];
}

export interface SiteUsage extends UsageFigures {
  owners: (UsageFigures & { owner: string })[];
}

export interface PackageUsage extends UsageFigures {
  package: string;
}

/** GET /api/v1/admin/gc (src/http/api/admin-gc.ts has the schema). */
export interface GcSummary {
  dryRun: boolean;
  exact: boolean;
  graceSeconds: number;
  manifestsDeleted: number;
  linksRemoved: number;
  blobsScanned: number;
  blobsDeleted: number;
  bytesFreed: number;
  uploadsRemoved: number;
  multipartAborted: number;
  durationMs: number;
  errors: string[];
}

export interface GcRun {
  id: string;
  trigger: 'schedule' | 'api' | 'cli' | 'startup';
  actor: string | null;
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  progress: { phase?: string; scanned?: number; found?: number; bytes?: number } | null;
  summary: Partial<GcSummary> | null;
  error: string | null;
}

export interface GcStatus {
  graceSeconds: number;
  intervalSeconds: number;
  nextRunAt: string | null;
  running: GcRun | null;
  runs: GcRun[];
}
