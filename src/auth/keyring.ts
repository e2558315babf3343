import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject, randomBytes } from 'node:crypto';
import { type DecodedJwt, verifySignature } from './jwt.ts';

interface LoadedKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JsonWebKey;
  createdAt: number;
  retiredAt: number | null;
}

/**
 * Registry token signing keys (ES256). Generated on first start and persisted in the database,
 * so every replica signs and verifies with the same keys. Rotation adds a new active key and
 * retires the old one, which still verifies tokens until it is removed.
 */
/** A signing key as stored: the private key as PKCS#8 PEM, the public one as a JWK string. */
export interface StoredSigningKey {
  kid: string;
  privatePem: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** Where the keys are kept (the metadata's signing-key store; auth never sees the database). */
export interface SigningKeyStore {
  all(): Promise<StoredSigningKey[]>;
  insert(key: StoredSigningKey): Promise<void>;
  retire(kid: string, now: number): Promise<void>;
}

export class KeyRing {
  private keys: LoadedKey[] = [];
  private readonly store: SigningKeyStore;
  private readonly clock: () => number;

  constructor(store: SigningKeyStore, clock: () => number) {
    this.store = store;
    this.clock = clock;
  }

  async load(): Promise<void> {
    let rows = await this.store.all();
    if (!rows.some((r) => r.retiredAt === null)) {
      await this.generate();
      rows = await this.store.all();
    }
    this.keys = rows.map((r) => {
      const privateKey = createPrivateKey(r.privatePem);
      return {
        kid: r.kid,
        privateKey,
        publicKey: createPublicKey(privateKey),
        jwk: JSON.parse(r.publicJwk) as JsonWebKey,
        createdAt: r.createdAt,
        retiredAt: r.retiredAt,
      };
    });
  }

  private async generate(): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = randomBytes(8).toString('hex');
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
    await this.store.insert({
      kid,
      privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicJwk: JSON.stringify(jwk),
      createdAt: this.clock(),
      retiredAt: null,
    });
    return kid;
  }

  /** Adds a new signing key and retires the current ones (they keep verifying). */
  async rotate(): Promise<string> {
    const now = this.clock();
    for (const k of this.keys) if (k.retiredAt === null) await this.store.retire(k.kid, now);
    const kid = await this.generate();
    await this.load();
    return kid;
  }

  signing(): { kid: string; key: KeyObject } {
    const active = this.keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt)[0];
    if (!active) throw new Error('no active signing key');
    return { kid: active.kid, key: active.privateKey };
  }

  /** Verifies with the key named by `kid`, reloading once in case another replica rotated. */
  async verify(jwt: DecodedJwt): Promise<boolean> {
    if (jwt.header.alg !== 'ES256' || !jwt.header.kid) return false;
    let key = this.keys.find((k) => k.kid === jwt.header.kid);
    if (!key) {
      await this.load();
      key = this.keys.find((k) => k.kid === jwt.header.kid);
    }
    return key ? verifySignature(jwt, key.publicKey) : false;
  }

  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.keys.map((k) => k.jwk) };
  }
}

