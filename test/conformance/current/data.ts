/**
 * Test data of the current conformance suite (conformance/testdata.go and GenerateData in
 * run.go of opencontainers/distribution-spec): blobs, gzip/tar layers, image configs, image
 * manifests and indexes generated with options, and the named data sets (image, nested index,
 * empty index, artifacts, subjects, data field, non-distributable layers, custom fields, no
 * layers, sha512, tag parameters, bad digest). JSON is compact in the image-spec field order,
 * as Go's json.Marshal writes it; bytes are random on every run, so digests are new each time.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type Algo = 'sha256' | 'sha512';

export const mt = {
  exampleConf1: 'application/vnd.example.oci.conformance.v1',
  exampleConf2: 'application/vnd.example.oci.conformance.v2',
  octetStream: 'application/octet-stream',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociImage: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerPre: 'application/vnd.oci.image.layer.v1.',
  ociLayerGz: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerNd: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNdGz: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmptyJSON: 'application/vnd.oci.empty.v1+json',
} as const;

export interface Platform {
  architecture: string;
  os: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: Buffer;
  platform?: Platform;
  artifactType?: string;
}

export function digestOf(bytes: Buffer | string, algo: Algo = 'sha256'): string {
  return `${algo}:${createHash(algo).update(bytes).digest('hex')}`;
}

export function algoOf(digest: string): Algo {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** A descriptor as Go's json.Marshal writes image.Descriptor (omitempty fields left out). */
function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls && d.urls.length > 0) out['urls'] = d.urls;
  if (d.annotations && Object.keys(d.annotations).length > 0) out['annotations'] = sorted(d.annotations);
  if (d.data && d.data.length > 0) out['data'] = d.data.toString('base64');
  if (d.platform) out['platform'] = { architecture: d.platform.architecture, os: d.platform.os };
  if (d.artifactType) out['artifactType'] = d.artifactType;
  return out;
}

function sorted(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Go's rand.Text(): 26 base32 characters. */
export function randText(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(26)].map((b) => alphabet[b % 32]).join('');
}

/** genAddJSONFields: a field no spec defines, which a registry must keep byte for byte. */
function withExtraField(v: Record<string, unknown>): Record<string, unknown> {
  return { ...v, [`org.example.conformance.${randText().toLowerCase()}`]: randText() };
}

/** A one-file ustar archive (what Go's archive/tar writes for a regular file). */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => header.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.length, 12), 124, 12);
  field(octal(0, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of header) sum += b;
  field(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

export interface GenOpts {
  algo?: Algo;
  annotations?: Record<string, string>;
  annotationUniq?: boolean;
  artifactType?: string;
  blobSize?: number;
  uncompressed?: boolean;
  configBytes?: Buffer;
  configMediaType?: string;
  descriptorMediaType?: string;
  extraField?: boolean;
  layerBytes?: Buffer;
  layerCount?: number;
  layerMediaType?: string;
  platform?: Platform;
  platforms?: (Platform | undefined)[];
  setData?: boolean;
  subject?: Descriptor;
  tag?: string;
}

/** Per-digest behaviour of the push and pull checks (Go's pushOpts/pullOpts flags). */
export interface Flags {
  tagParam?: boolean;
  expectBadDigest?: boolean;
  skipPull?: boolean;
}

export class TestData {
  readonly name: string;
  readonly tags = new Map<string, string>();
  readonly tagPushed = new Set<string>();
  readonly desc = new Map<string, Descriptor>();
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, Buffer>();
  /** Push order; an index comes after what it lists. */
  readonly manOrder: string[] = [];
  readonly referrers = new Map<string, Descriptor[]>();
  readonly flags = new Map<string, Flags>();

  constructor(name: string) {
    this.name = name;
  }

  flagsOf(digest: string): Flags {
    return this.flags.get(digest) ?? {};
  }

  addBlob(bytes: Buffer, o: GenOpts = {}): string {
    const digest = digestOf(bytes, o.algo ?? 'sha256');
    this.blobs.set(digest, bytes);
    this.desc.set(digest, { mediaType: o.descriptorMediaType ?? mt.octetStream, digest, size: bytes.length, ...(o.setData ? { data: bytes } : {}) });
    return digest;
  }

  genBlob(o: GenOpts = {}): { digest: string; bytes: Buffer } {
    const bytes = randomBytes(o.blobSize ?? 2048);
    return { digest: this.addBlob(bytes, o), bytes };
  }

  /** A layer: a tar with one file, gzip-compressed unless asked otherwise; returns compressed and uncompressed digests. */
  genLayer(fileNum: number, o: GenOpts = {}): { digest: string; diffId: string } {
    const algo = o.algo ?? 'sha256';
    const file = Buffer.from(`Conformance test file contents for file number ${fileNum}.\nTodays lucky number is ${randomInt(2 ** 47)}\n`);
    const tar = tarOf(`./conformance-${fileNum}.txt`, file);
    const body = o.uncompressed ? tar : gzipSync(tar);
    const digest = digestOf(body, algo);
    const diffId = digestOf(tar, algo);
    this.blobs.set(digest, body);
    this.desc.set(digest, { mediaType: o.uncompressed ? mt.ociLayer : mt.ociLayerGz, digest, size: body.length, ...(o.setData ? { data: body } : {}) });
    return { digest, diffId };
  }

  genConfig(platform: Platform, diffIds: string[], o: GenOpts = {}): string {
    let config: Record<string, unknown> = {
      author: 'OCI Conformance Test',
      architecture: platform.architecture,
      os: platform.os,
      config: {},
      rootfs: { type: 'layers', diff_ids: diffIds },
    };
    if (o.extraField) config = withExtraField(config);
    const body = Buffer.from(JSON.stringify(config));
    const digest = digestOf(body, o.algo ?? 'sha256');
    this.blobs.set(digest, body);
    this.desc.set(digest, { mediaType: o.configMediaType ?? mt.ociConfig, digest, size: body.length, ...(o.setData ? { data: body } : {}) });
    return digest;
  }

  private annotationsFor(o: GenOpts): Record<string, string> | undefined {
    if (!o.annotationUniq) return o.annotations;
    return { ...o.annotations, [`org.example.${randText()}`]: randText() };
  }

  private addManifest(body: Buffer, mediaType: string, artifactType: string | undefined, annotations: Record<string, string> | undefined, o: GenOpts): string {
    const digest = digestOf(body, o.algo ?? 'sha256');
    this.manifests.set(digest, body);
    this.manOrder.push(digest);
    this.desc.set(digest, { mediaType, digest, size: body.length, ...(o.setData ? { data: body } : {}) });
    if (o.subject) {
      const list = this.referrers.get(o.subject.digest) ?? [];
      list.push({ mediaType, digest, size: body.length, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) });
      this.referrers.set(o.subject.digest, list);
    }
    if (o.tag) this.tags.set(o.tag, digest);
    return digest;
  }

  genManifest(config: Descriptor, layers: Descriptor[], o: GenOpts = {}): string {
    const annotations = this.annotationsFor(o);
    let m: Record<string, unknown> = { schemaVersion: 2, mediaType: mt.ociImage };
    if (o.artifactType) m['artifactType'] = o.artifactType;
    m['config'] = descriptorJson(config);
    m['layers'] = layers.map(descriptorJson);
    if (o.subject) m['subject'] = descriptorJson(o.subject);
    if (annotations && Object.keys(annotations).length > 0) m['annotations'] = sorted(annotations);
    if (o.extraField) m = withExtraField(m);
    // The referrers response reports the artifact type, else the config's media type.
    return this.addManifest(Buffer.from(JSON.stringify(m)), mt.ociImage, o.artifactType || config.mediaType, annotations, o);
  }

  /** An image with layers and a config (or an artifact, when the media types say so). */
  genManifestFull(o: GenOpts = {}): string {
    const layerCount = o.layerCount ?? 2;
    const platform = o.platform ?? { os: 'linux', architecture: 'amd64' };
    const layers: string[] = [];
    const diffIds: string[] = [];
    for (let l = 0; l < layerCount; l++) {
      if (o.layerMediaType === undefined || o.layerMediaType.startsWith(mt.ociLayerPre)) {
        const { digest, diffId } = this.genLayer(l, o);
        layers.push(digest);
        diffIds.push(diffId);
      } else {
        const blobOpts = { ...o, descriptorMediaType: o.layerMediaType };
        const digest = o.layerBytes ? this.addBlob(o.layerBytes, blobOpts) : this.genBlob(blobOpts).digest;
        layers.push(digest);
        diffIds.push(digest);
      }
    }
    const config =
      o.configMediaType === undefined || o.configMediaType === mt.ociConfig
        ? this.genConfig(platform, diffIds, o)
        : this.addBlob(o.configBytes ?? Buffer.alloc(0), { ...o, descriptorMediaType: o.configMediaType });
    return this.genManifest(this.descriptor(config), layers.map((d) => this.descriptor(d)), o);
  }

  genIndex(platforms: (Platform | undefined)[], manifests: string[], o: GenOpts = {}): string {
    const annotations = this.annotationsFor(o);
    let ind: Record<string, unknown> = { schemaVersion: 2, mediaType: mt.ociIndex };
    if (o.artifactType) ind['artifactType'] = o.artifactType;
    ind['manifests'] = manifests.map((d, i) => {
      const platform = platforms[i];
      return descriptorJson({ ...this.descriptor(d), ...(platform ? { platform } : {}) });
    });
    if (o.subject) ind['subject'] = descriptorJson(o.subject);
    if (annotations && Object.keys(annotations).length > 0) ind['annotations'] = sorted(annotations);
    if (o.extraField) ind = withExtraField(ind);
    return this.addManifest(Buffer.from(JSON.stringify(ind)), mt.ociIndex, o.artifactType, annotations, o);
  }

  /** An index of one image per platform (amd64 and arm64 unless given). */
  genIndexFull(o: GenOpts = {}): string {
    const platforms = (o.platforms ?? [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]) as Platform[];
    // Go passes every option on to the images (their tag is then overwritten by the index's,
    // and a subject makes each image a referrer too).
    const { tag: _tag, ...imageOpts } = o;
    const images = platforms.map((platform) => this.genManifestFull({ ...imageOpts, platform }));
    return this.genIndex(platforms, images, o);
  }

  descriptor(digest: string): Descriptor {
    const d = this.desc.get(digest);
    if (!d) throw new Error(`test data ${this.name}: no descriptor for ${digest}`);
    return d;
  }
}

/** The data sets of GenerateData, in its order. */
export function generateDataSets(): TestData[] {
  const sets: TestData[] = [];
  const add = (name: string, build: (td: TestData) => void) => {
    const td = new TestData(name);
    build(td);
    sets.push(td);
  };
  const artifactOpts: GenOpts = {
    artifactType: mt.exampleConf1,
    configMediaType: mt.ociEmptyJSON,
    configBytes: Buffer.from('{}'),
    layerCount: 1,
    layerMediaType: mt.exampleConf1,
  };
  const hello = { 'org.opencontainers.conformance': 'hello conformance test' };
  const twoPlatforms: Platform[] = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];

  add('Image', (td) => td.genManifestFull({ tag: 'image' }));
  add('Image Uncompressed', (td) => td.genManifestFull({ tag: 'image-uncompressed', uncompressed: true }));
  add('Image with Large Manifest', (td) => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = 'A'.repeat(10000);
    td.genManifestFull({ tag: 'large-manifest', annotations });
  });
  add('Index', (td) => td.genIndexFull({ tag: 'index', platforms: twoPlatforms }));
  add('Nested Index', (td) => {
    const first = td.genIndexFull({ platforms: twoPlatforms });
    const second = td.genIndexFull({ platforms: twoPlatforms });
    td.genIndex([undefined, undefined], [first, second], { tag: 'index-of-index' });
  });
  add('Empty Index', (td) => td.genIndexFull({ tag: 'index', platforms: [] }));
  add('Artifact', (td) => td.genManifestFull({ tag: 'artifact', ...artifactOpts }));
  add('Artifact Index', (td) => td.genIndexFull({ tag: 'artifact-index', platforms: twoPlatforms, ...artifactOpts }));
  add('Artifact without Layers', (td) =>
    td.genManifestFull({ tag: 'artifact-without-layers', ...artifactOpts, layerBytes: Buffer.from('{}'), layerMediaType: mt.ociEmptyJSON }),
  );
  add('Artifacts with Subject', (td) => {
    const subject = td.descriptor(td.genManifestFull({ tag: 'image' }));
    td.genManifestFull({ subject });
    td.genManifestFull({ ...artifactOpts, annotations: hello, annotationUniq: true, subject, tag: 'tagged-artifact1' });
    td.genManifestFull({ ...artifactOpts, artifactType: mt.exampleConf2, layerMediaType: mt.octetStream, annotations: hello, annotationUniq: true, subject, tag: 'tagged-artifact2' });
  });
  add('Index with Subject', (td) => {
    const subject = td.descriptor(td.genIndexFull({ tag: 'index' }));
    td.genIndexFull({ ...artifactOpts, annotations: hello, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('Missing Subject', (td) => {
    const subject: Descriptor = { mediaType: mt.ociImage, size: 123, digest: digestOf('missing content') };
    td.genManifestFull({ ...artifactOpts, annotations: hello, annotationUniq: true, subject, tag: 'tagged-artifact' });
  });
  add('Data Field', (td) => td.genManifestFull({ tag: 'data-field', setData: true }));
  add('Non-distributable Layers', (td) => {
    // Two layers that are never pushed (they live at their URLs), then a normal one.
    const nd = (mediaType: string, size: number): Descriptor => {
      const digest = digestOf(randomBytes(256));
      return { mediaType, digest, size, urls: [`https://store.example.com/blobs/sha256/${digest.slice('sha256:'.length)}`] };
    };
    const first = nd(mt.ociLayerNdGz, 123456);
    const second = nd(mt.ociLayerNd, 12345);
    const third = td.genLayer(1);
    const config = td.genConfig({ os: 'linux', architecture: 'amd64' }, [digestOf(randomBytes(256)), second.digest, third.diffId]);
    td.genManifest(td.descriptor(config), [first, second, td.descriptor(third.digest)], { tag: 'non-distributable-image' });
  });
  add('Custom Fields', (td) => td.genIndexFull({ tag: 'custom-fields', platforms: twoPlatforms, extraField: true }));
  add('No Layers', (td) => td.genManifestFull({ tag: 'no-layers', layerCount: 0 }));
  // Non-canonical digests need tag parameters to be tagged, so sha512 is tested by digest only.
  add('Digest Algorithm sha512', (td) => td.genIndexFull({ algo: 'sha512' }));
  for (const algo of ['sha256', 'sha512'] as const) {
    add(algo === 'sha256' ? 'Tag Param' : 'Tag Param sha512', (td) => {
      const base = `tag-param-${algo}`;
      td.genIndexFull({ tag: base, algo }); // the top index gets two tags
      td.manOrder.forEach((digest, i) => {
        td.tags.set(`${base}-${i}`, digest);
        td.flags.set(digest, { tagParam: true });
      });
    });
  }
  add('Bad Digest Image', (td) => {
    const digest = td.genManifestFull();
    td.flags.set(digest, { skipPull: true, expectBadDigest: true });
    // Whitespace after the JSON: the bytes no longer match the digest they are pushed under.
    td.manifests.set(digest, Buffer.concat([td.manifests.get(digest) ?? Buffer.alloc(0), Buffer.from('  ')]));
  });
  return sets;
}

/** The media type a manifest declares (detectMediaType). */
export function mediaTypeOf(body: Buffer): string {
  try {
    const v = JSON.parse(body.toString('utf8')) as { mediaType?: unknown };
    return typeof v.mediaType === 'string' ? v.mediaType : '';
  } catch {
    return '';
  }
}
