import { jsonShapeProblem } from '../lib/json-shape.ts';
import { RegistryError } from '../errors.ts';
import { type Digest, parseDigest } from './digest.ts';
import { IMAGE_MANIFEST_TYPES, INDEX_TYPES, MediaType } from './mediatypes.ts';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

/** What the registry core needs to know about a pushed manifest; the bytes stay untouched. */
export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  config: Descriptor | null;
  /** Blobs that must exist in the repository (config + distributable layers). */
  blobs: Descriptor[];
  /** Child manifests that must exist in the repository (index entries). */
  manifests: Descriptor[];
  subject: Descriptor | null;
  /** `artifactType`, or for image manifests without one the config media type (as the referrers API reports). */
  artifactType: string | null;
  annotations: Record<string, string>;
}

const NON_DISTRIBUTABLE = new Set([
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MediaType.DockerSchema1, MediaType.DockerSchema1Signed]);

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, detail);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseAnnotations(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw invalid(`${where}.annotations must be an object of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid(`${where}.annotations.${k} must be a string`);
  }
  return v as Record<string, string>;
}

function parsePlatform(v: unknown, where: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || typeof v['architecture'] !== 'string' || typeof v['os'] !== 'string') {
    throw invalid(`${where}.platform must have string architecture and os`);
  }
  const p: Platform = { architecture: v['architecture'], os: v['os'] };
  if (typeof v['variant'] === 'string') p.variant = v['variant'];
  if (typeof v['os.version'] === 'string') p['os.version'] = v['os.version'];
  return p;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw invalid(`${where}.mediaType must be a string`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest must be a string`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  let parsed: Digest;
  try {
    parsed = parseDigest(digest);
  } catch {
    throw invalid(`${where}.digest is not a valid digest`, { digest });
  }
  const d: Descriptor = { mediaType, digest: parsed, size };
  if (typeof v['artifactType'] === 'string') d.artifactType = v['artifactType'];
  const annotations = parseAnnotations(v['annotations'], where);
  if (annotations) d.annotations = annotations;
  const platform = parsePlatform(v['platform'], where);
  if (platform) d.platform = platform;
  if (Array.isArray(v['urls'])) d.urls = v['urls'].filter((u): u is string => typeof u === 'string');
  return d;
}

function parseDescriptorList(v: unknown, where: string): Descriptor[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
  return v.map((item, i) => parseDescriptor(item, `${where}[${i}]`));
}

/** Decides the manifest's media type from its own `mediaType` field, the Content-Type, or its shape. */
function resolveMediaType(json: Record<string, unknown>, contentType: string | undefined): string {
  const raw = json['mediaType'];
  if (raw !== undefined && typeof raw !== 'string') throw invalid('manifest mediaType must be a string');
  const declared = raw;
  const header = contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
  // Schema1 is recognised (to be refused as UNSUPPORTED) by any of its markers, not guessed at.
  if (declared !== undefined && SCHEMA1_TYPES.has(declared)) return declared;
  if (header !== undefined && SCHEMA1_TYPES.has(header)) return header;
  if (json['schemaVersion'] === 1) return MediaType.DockerSchema1;
  const headerIsManifest = header !== undefined && (IMAGE_MANIFEST_TYPES.has(header) || INDEX_TYPES.has(header));
  if (declared !== undefined) {
    if (headerIsManifest && header !== declared) {
      throw invalid('manifest mediaType does not match Content-Type', { mediaType: declared, contentType: header });
    }
    return declared;
  }
  if (headerIsManifest) return header;
  // No usable type anywhere: infer from structure, as OCI image-spec allows for descriptors-only manifests.
  if (Array.isArray(json['manifests'])) return MediaType.OciIndex;
  if (isObject(json['config'])) return MediaType.OciManifest;
  throw invalid('cannot determine manifest media type', { contentType: header ?? null });
}

/** Parses and validates manifest bytes. Throws MANIFEST_INVALID (or UNSUPPORTED for schema1). */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  // The size is capped by the caller; the shape bounds what parsing it may cost.
  const shape = jsonShapeProblem(bytes);
  if (shape !== null) throw invalid(`manifest is ${shape}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(json)) throw invalid('manifest must be a JSON object');
  const mediaType = resolveMediaType(json, contentType);
  if (SCHEMA1_TYPES.has(mediaType)) {
    throw new RegistryError('UNSUPPORTED', 'Docker schema1 manifests are not supported', { mediaType });
  }
  if (json['schemaVersion'] !== 2) throw invalid('schemaVersion must be 2');
  const subject = json['subject'] === undefined ? null : parseDescriptor(json['subject'], 'subject');
  const annotations = parseAnnotations(json['annotations'], 'manifest') ?? {};
  const explicitArtifactType = typeof json['artifactType'] === 'string' ? json['artifactType'] : null;

  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(json['manifests'])) throw invalid('index must have a manifests array');
    return {
      mediaType,
      kind: 'index',
      config: null,
      blobs: [],
      manifests: parseDescriptorList(json['manifests'], 'manifests'),
      subject,
      artifactType: explicitArtifactType,
      annotations,
    };
  }
  if (IMAGE_MANIFEST_TYPES.has(mediaType)) {
    if (json['config'] === undefined) throw invalid('image manifest must have a config descriptor');
    const config = parseDescriptor(json['config'], 'config');
    const layers = parseDescriptorList(json['layers'], 'layers');
    const blobs = [config, ...layers].filter((d) => !(NON_DISTRIBUTABLE.has(d.mediaType) && d.urls && d.urls.length > 0));
    return {
      mediaType,
      kind: 'image',
      config,
      blobs,
      manifests: [],
      subject,
      artifactType: explicitArtifactType ?? config.mediaType,
      annotations,
    };
  }
  throw invalid('unsupported manifest media type', { mediaType });
}
