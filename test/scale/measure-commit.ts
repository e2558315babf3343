/**
 * Measures what docs/adr/0005-upload-hashing-across-replicas.md reports: the cost of committing
 * an upload on the replica that saw every byte (running hash), on another replica when the bytes
 * came in one append (digest recorded in the session state), and after chunks landed on both
 * replicas (the assembled object is streamed back from S3 and hashed). Not a test; run by hand with the
 * services up:
 *
 *   eval "$(../shared/services/start-services.sh env)"
 *   node --disable-warning=ExperimentalWarning test/scale/measure-commit.ts [MiB ...]
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { digestOf } from '../../src/oci/digest.ts';
import { S3Store } from '../../src/storage/s3.ts';
import { emptyPrefix, s3Missing, s3TestOptions } from './backends.ts';

if (s3Missing) {
  console.error(s3Missing);
  process.exit(2);
}
const MiB = 1024 * 1024;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const opts = s3TestOptions({ partSizeBytes: 8 * MiB });
const a = await S3Store.open(opts);
const b = await S3Store.open(opts);

async function* body(buf: Buffer): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < buf.length; off += 256 * 1024) yield buf.subarray(off, off + 256 * 1024);
}

const ms = (t: number) => (performance.now() - t).toFixed(0);
try {
  for (const mib of sizes.length > 0 ? sizes : [16, 64, 256]) {
    const data = randomBytes(mib * MiB);
    let t = performance.now();
    createHash('sha256').update(data).digest();
    const hashOnly = ms(t);
    const digest = digestOf(data);
    const rows: string[] = [];
    const half = Math.floor(data.length / 2);
    for (const [label, split, committer] of [
      ['same replica, running hash', false, a],
      ['other replica, recorded digest', false, b],
      ['chunks on both, re-hash from S3', true, a],
    ] as const) {
      const id = randomUUID();
      await a.create(id);
      t = performance.now();
      if (split) {
        await a.append(id, 0, body(data.subarray(0, half)));
        await b.append(id, half, body(data.subarray(half)));
      } else {
        await a.append(id, 0, body(data));
      }
      const append = ms(t);
      t = performance.now();
      await committer.commit(id, digest);
      rows.push(`  ${label.padEnd(34)} append ${append.padStart(6)} ms   commit ${ms(t).padStart(6)} ms`);
      await a.delete(digest);
    }
    console.log(`${mib} MiB (sha256 in memory alone: ${hashOnly} ms)`);
    for (const r of rows) console.log(r);
  }
} finally {
  await emptyPrefix(opts);
  a.close();
  b.close();
}
