import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { Semaphore } from '../lib/semaphore.ts';

/**
 * Passwords are hashed with scrypt, a memory-hard KDF built into Node (no native addon):
 * N=2^15, r=8, p=1 uses 32 MiB per hash. The format records the parameters so they can be
 * raised later without invalidating existing hashes.
 */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

/**
 * Two derivations at a time per process. Each holds 32 MiB while it runs, on a libuv pool thread
 * (four by default): a burst of sign-ins with wrong passwords took four threads and 128 MiB at
 * once, and left no pool thread for the file reads and writes of pulls and pushes. With
 * `server.workers` at one per core (the default) a host still hashes two per core.
 */
const derivations = new Semaphore(2);

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return derivations.run(
    () =>
      new Promise((resolve, reject) =>
        scrypt(password.normalize('NFKC'), salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time verification; false for any malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  let actual: Buffer;
  try {
    actual = await derive(password, salt, n, r, p);
  } catch {
    // Parameters scrypt refuses (N not a power of two, over the memory cap) mean a corrupt hash.
    return false;
  }
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A burned hash for unknown users, so a wrong username costs as much time as a wrong password. */
export const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
