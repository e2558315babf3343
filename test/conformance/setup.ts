/**
 * Port of conformance/setup.go (opencontainers/distribution-spec): the suite's settings from
 * OCI_* environment variables and the shared test data — one config blob and one image manifest
 * per workflow slot, the gzip layer, the chunked blob, the referrers artifacts and index, the
 * empty-layer manifest. Manifests are serialized like Go's json.MarshalIndent(v, "", "\t"),
 * field order and all, so their bytes (and digests) have the same shape as the Go suite's.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

// ---- settings (setup.go init) ---------------------------------------------------------------

export const PULL = 1 << 0;
export const PUSH = 1 << 1;
export const CONTENT_DISCOVERY = 1 << 2;
export const CONTENT_MANAGEMENT = 1 << 3;
/** Go: `numWorkflows` is the next iota after the four flags, 1 << 4 = 16 config/manifest slots. */
export const NUM_WORKFLOWS = 1 << 4;

export const titlePull = 'Pull';
export const titlePush = 'Push';
export const titleContentDiscovery = 'Content Discovery';
export const titleContentManagement = 'Content Management';
export const suiteDescription = 'OCI Distribution Conformance Tests';

export const emptyLayerTestTag = 'emptylayer';
export const testTagName = 'tagtest0';
export const artifactTypeFilter = 'artifactType';

export const errorCodes = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
] as const;

const testMap: Record<string, number> = {
  OCI_TEST_PULL: PULL,
  OCI_TEST_PUSH: PUSH,
  OCI_TEST_CONTENT_DISCOVERY: CONTENT_DISCOVERY,
  OCI_TEST_CONTENT_MANAGEMENT: CONTENT_MANAGEMENT,
};

/** Go's strconv.ParseBool; undefined for anything else (Go: an error, read as false). */
export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

const env = process.env;

export const settings = (() => {
  /** Without OCI_ROOT_URL the suite starts its own registry (see harness.ts). */
  const selfStarted = (env['OCI_ROOT_URL'] ?? '') === '';
  // Go runs only the workflows whose OCI_TEST_* is true. A self-started run with none of them
  // set runs all four, since there is nobody else's registry to be careful with.
  const anyWorkflowVar = Object.keys(testMap).some((k) => env[k] !== undefined);
  let testsToRun = 0;
  for (const [key, flag] of Object.entries(testMap)) if (parseBool(env[key]) === true) testsToRun |= flag;
  if (selfStarted && !anyWorkflowVar) testsToRun = PULL | PUSH | CONTENT_DISCOVERY | CONTENT_MANAGEMENT;

  const automaticCrossmountVar = env['OCI_AUTOMATIC_CROSSMOUNT'] ?? (selfStarted ? '0' : undefined);
  const deleteVar = env['OCI_DELETE_MANIFEST_BEFORE_BLOBS'];
  return {
    selfStarted,
    rootUrl: env['OCI_ROOT_URL'] ?? '',
    namespace: env['OCI_NAMESPACE'] ?? '',
    username: env['OCI_USERNAME'] ?? '',
    password: env['OCI_PASSWORD'] ?? '',
    authScope: env['OCI_AUTH_SCOPE'] ?? '',
    crossmountNamespace: env['OCI_CROSSMOUNT_NAMESPACE'] || `conformance-${randomUUID()}`,
    debug: parseBool(env['OCI_DEBUG']) === true,
    testsToRun,
    hideSkippedWorkflows: parseBool(env['OCI_HIDE_SKIPPED_WORKFLOWS']) === true,
    // Default true; when set, ParseBool's result (false for anything unparsable).
    deleteManifestBeforeBlobs: deleteVar === undefined ? true : parseBool(deleteVar) === true,
    // The automatic-crossmount checks run only when the variable is set at all. A self-started
    // run sets it to 0: neither Wharf nor Distribution mounts without `from`.
    runAutomaticCrossmountTest: automaticCrossmountVar !== undefined,
    automaticCrossmountEnabled: parseBool(automaticCrossmountVar) === true,
    runPullSetup: !((env['OCI_TAG_NAME'] ?? '') !== '' && (env['OCI_MANIFEST_DIGEST'] ?? '') !== '' && (env['OCI_BLOB_DIGEST'] ?? '') !== ''),
    runPushSetup: true,
    runContentDiscoverySetup: (env['OCI_TAG_LIST'] ?? '') === '',
    runContentManagementSetup: true,
    tagNameFromEnv: env['OCI_TAG_NAME'] ?? '',
    tagListFromEnv: env['OCI_TAG_LIST'] ?? '',
  };
})();

export function userDisabled(flag: number): boolean {
  return (flag & settings.testsToRun) === 0;
}

/** Go's generateSkipReport: why a disabled workflow's checks are skipped. */
export function skipReport(): string {
  const vars = Object.keys(testMap).map((k) => `${k}=${env[k] ?? ''}`);
  return `you have skipped this test; if this is an error, check your environment variable settings: ${vars.join(' ')}`;
}

// ---- Go JSON shapes (image.go), serialized in Go's field order -----------------------------

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  /** []byte: base64 when present. */
  data?: Buffer;
  artifactType?: string;
  /** []byte without omitempty: `null` when unset. */
  newUnspecifiedField?: Buffer;
}

interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

interface Index {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations && Object.keys(d.annotations).length > 0) out['annotations'] = sortedMap(d.annotations);
  if (d.data && d.data.length > 0) out['data'] = d.data.toString('base64');
  if (d.artifactType) out['artifactType'] = d.artifactType;
  out['newUnspecifiedField'] = d.newUnspecifiedField ? d.newUnspecifiedField.toString('base64') : null;
  return out;
}

function sortedMap(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function topLevel(m: { schemaVersion: number; mediaType?: string; artifactType?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = { schemaVersion: m.schemaVersion };
  if (m.mediaType) out['mediaType'] = m.mediaType;
  if (m.artifactType) out['artifactType'] = m.artifactType;
  return out;
}

function withTail(out: Record<string, unknown>, m: { subject?: Descriptor; annotations?: Record<string, string> }): Buffer {
  if (m.subject) out['subject'] = descriptorJson(m.subject);
  if (m.annotations && Object.keys(m.annotations).length > 0) out['annotations'] = sortedMap(m.annotations);
  return Buffer.from(JSON.stringify(out, null, '\t'));
}

export function marshalManifest(m: Manifest): Buffer {
  const out = topLevel(m);
  out['config'] = descriptorJson(m.config);
  out['layers'] = m.layers.map(descriptorJson);
  return withTail(out, m);
}

export function marshalIndex(m: Index): Buffer {
  const out = topLevel(m);
  out['manifests'] = m.manifests.map(descriptorJson);
  return withTail(out, m);
}

export function digestOf(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

// ---- test data (setup.go init) -------------------------------------------------------------

export interface TestBlob {
  content: Buffer;
  contentLength: string;
  digest: string;
}

function blob(content: Buffer, digestOverride = ''): TestBlob {
  return { content, contentLength: String(content.length), digest: digestOverride || digestOf(content) };
}

/** Go randomString: letters, digits and '-'. */
function randomString(n: number): string {
  const letters = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-';
  return [...randomBytes(n)].map((b) => letters[b % letters.length]).join('');
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

// A unique config per workflow slot: a random author gives each a new digest on every run.
export const configs: TestBlob[] = Array.from({ length: NUM_WORKFLOWS }, () => {
  const author = randomString(16);
  const image = { author, architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };
  return blob(Buffer.from(JSON.stringify(image, null, '\t')), env['OCI_BLOB_DIGEST'] ?? '');
});

// layerBase64String: `echo 'you bothered to find out what was in here. Congratulations!' > test.txt; tar czvf`.
const layerBase64String =
  'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0' +
  'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD' +
  'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA';
export const layerBlobData = Buffer.from(layerBase64String, 'base64');
export const layerBlobDigest = digestOf(layerBlobData);
export const layerBlobContentLength = String(layerBlobData.length);

const layers: Descriptor[] = [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: layerBlobData.length, digest: layerBlobDigest }];

function configDescriptor(c: TestBlob): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: c.digest,
    size: c.content.length,
    data: c.content, // must be the config content
    newUnspecifiedField: Buffer.from('hello world'), // content doesn't matter
  };
}

function slot(i: number): TestBlob {
  const c = configs[i];
  if (c === undefined) throw new Error(`no config slot ${i}`);
  return c;
}

// A unique manifest per workflow slot.
export const manifests: TestBlob[] = Array.from({ length: NUM_WORKFLOWS }, (_, i) =>
  blob(marshalManifest({ schemaVersion: 2, mediaType: MANIFEST, config: configDescriptor(slot(i)), layers }), env['OCI_MANIFEST_DIGEST'] ?? ''),
);

export function manifestAt(i: number): TestBlob {
  const m = manifests[i];
  if (m === undefined) throw new Error(`no manifest slot ${i}`);
  return m;
}

// Used in the push test: no mediaType field and no layers.
export const emptyLayerManifestContent = marshalManifest({ schemaVersion: 2, config: configDescriptor(slot(1)), layers: [] });
export const emptyLayerManifestDigest = digestOf(emptyLayerManifestContent);

export const nonexistentManifest = '.INVALID_MANIFEST_NAME';
export const invalidManifestContent = Buffer.from('blablabla');

// Go: reproducible random blobs from the Ginkgo seed; here simply random per run.
export const testBlobA = randomBytes(42);
export const testBlobALength = String(testBlobA.length);
export const testBlobADigest = digestOf(testBlobA);

export interface ChunkedBlob {
  blob: Buffer;
  digest: string;
  chunk1: Buffer;
  chunk1Length: string;
  chunk1Range: string;
  chunk2: Buffer;
  chunk2Length: string;
  chunk2Range: string;
}

/** Go setupChunkedBlob: two chunks, the first one byte longer than half. */
export function setupChunkedBlob(size: number): ChunkedBlob {
  const data = randomBytes(size);
  const cut = Math.floor(size / 2) + 1;
  const chunk1 = data.subarray(0, cut);
  const chunk2 = data.subarray(cut);
  return {
    blob: data,
    digest: digestOf(data),
    chunk1,
    chunk1Length: String(chunk1.length),
    chunk1Range: `0-${chunk1.length - 1}`,
    chunk2,
    chunk2Length: String(chunk2.length),
    chunk2Range: `${chunk1.length}-${data.length - 1}`,
  };
}

/** Mutable: the push workflow rebuilds it when the registry announces OCI-Chunk-Min-Length. */
export const chunked = { current: setupChunkedBlob(42) };

// Referrers (artifacts with a subject).
export const emptyJSONBlob = Buffer.from('{}');
export const emptyJSONDescriptor: Descriptor = { mediaType: 'application/vnd.oci.empty.v1+json', size: emptyJSONBlob.length, digest: digestOf(emptyJSONBlob) };

export const testRefBlobA = Buffer.from('NHL Peanut Butter on my NHL bagel');
export const testRefBlobALength = String(testRefBlobA.length);
export const testRefBlobADigest = digestOf(testRefBlobA);
export const testRefArtifactTypeA = 'application/vnd.nhl.peanut.butter.bagel';

export const testRefBlobB = Buffer.from('NBA Strawberry Jam on my NBA croissant');
export const testRefBlobBLength = String(testRefBlobB.length);
export const testRefBlobBDigest = digestOf(testRefBlobB);
export const testRefArtifactTypeB = 'application/vnd.nba.strawberry.jam.croissant';

export const testAnnotationKey = 'org.opencontainers.conformance.test';
/** Expected annotation value per referrer digest. */
export const testAnnotationValues: Record<string, string> = {};

function subjectOf(i: number): Descriptor {
  const m = manifestAt(i);
  return { mediaType: MANIFEST, size: m.content.length, digest: digestOf(m.content) };
}

function artifact(m: Manifest): { content: Buffer; digest: string } {
  const content = marshalManifest(m);
  const digest = digestOf(content);
  const note = m.annotations?.[testAnnotationKey];
  if (note !== undefined) testAnnotationValues[digest] = note;
  return { content, digest };
}

// config.mediaType = artifactType
const refsManifestAConfigArtifact = artifact({
  schemaVersion: 2,
  mediaType: MANIFEST,
  config: { mediaType: testRefArtifactTypeA, size: testRefBlobA.length, digest: testRefBlobADigest },
  subject: subjectOf(4),
  layers: [emptyJSONDescriptor],
  annotations: { [testAnnotationKey]: 'test config a' },
});
export const refsManifestAConfigArtifactContent = refsManifestAConfigArtifact.content;
export const refsManifestAConfigArtifactDigest = refsManifestAConfigArtifact.digest;

const refsManifestBConfigArtifact = artifact({
  schemaVersion: 2,
  mediaType: MANIFEST,
  config: { mediaType: testRefArtifactTypeB, size: testRefBlobB.length, digest: testRefBlobBDigest },
  subject: subjectOf(4),
  layers: [emptyJSONDescriptor],
  annotations: { [testAnnotationKey]: 'test config b' },
});
export const refsManifestBConfigArtifactContent = refsManifestBConfigArtifact.content;
export const refsManifestBConfigArtifactDigest = refsManifestBConfigArtifact.digest;

// artifactType set, config.mediaType = the empty JSON type
const refsManifestALayerArtifact = artifact({
  schemaVersion: 2,
  mediaType: MANIFEST,
  artifactType: testRefArtifactTypeA,
  config: emptyJSONDescriptor,
  subject: subjectOf(4),
  layers: [{ mediaType: testRefArtifactTypeA, size: testRefBlobA.length, digest: testRefBlobADigest }],
  annotations: { [testAnnotationKey]: 'test layer a' },
});
export const refsManifestALayerArtifactContent = refsManifestALayerArtifact.content;
export const refsManifestALayerArtifactDigest = refsManifestALayerArtifact.digest;

const refsManifestBLayerArtifact = artifact({
  schemaVersion: 2,
  mediaType: MANIFEST,
  artifactType: testRefArtifactTypeB,
  config: emptyJSONDescriptor,
  subject: subjectOf(4),
  layers: [{ mediaType: testRefArtifactTypeB, size: testRefBlobB.length, digest: testRefBlobBDigest }],
  annotations: { [testAnnotationKey]: 'test layer b' },
});
export const refsManifestBLayerArtifactContent = refsManifestBLayerArtifact.content;
export const refsManifestBLayerArtifactDigest = refsManifestBLayerArtifact.digest;

// Like B, but its subject (manifests[3]) is never pushed by the discovery workflow.
const refsManifestCLayerArtifact = artifact({
  schemaVersion: 2,
  mediaType: MANIFEST,
  artifactType: testRefArtifactTypeB,
  config: emptyJSONDescriptor,
  subject: subjectOf(3),
  layers: [{ mediaType: testRefArtifactTypeB, size: testRefBlobB.length, digest: testRefBlobBDigest }],
});
export const refsManifestCLayerArtifactContent = refsManifestCLayerArtifact.content;
export const refsManifestCLayerArtifactDigest = refsManifestCLayerArtifact.digest;

export const testRefArtifactTypeIndex = 'application/vnd.food.stand';
export const refsIndexArtifactContent = marshalIndex({
  schemaVersion: 2,
  mediaType: INDEX,
  artifactType: testRefArtifactTypeIndex,
  manifests: [
    { mediaType: MANIFEST, size: refsManifestAConfigArtifactContent.length, digest: refsManifestAConfigArtifactDigest },
    { mediaType: MANIFEST, size: refsManifestALayerArtifactContent.length, digest: refsManifestALayerArtifactDigest },
  ],
  subject: subjectOf(4),
  annotations: { [testAnnotationKey]: 'test index' },
});
export const refsIndexArtifactDigest = digestOf(refsIndexArtifactContent);
testAnnotationValues[refsIndexArtifactDigest] = 'test index';

export const dummyDigest = digestOf('hello world');

// ---- response helpers (setup.go getTagList / getTagNameFromResponse) -----------------------

/** The `tags` of a tag-list body; [] when it does not parse (Go ignores the error). */
export function getTagList(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { tags?: unknown };
    return Array.isArray(parsed.tags) ? parsed.tags.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}
