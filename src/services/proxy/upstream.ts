/**
 * A client of one upstream registry (OCI Distribution API): manifests and blobs of a
 * repository, authenticated as the upstream asks — anonymously, with Basic credentials, or by the
 * Docker token flow (a `Bearer realm=…,service=…,scope=…` challenge, a token fetched from the
 * realm with the credentials, the request repeated with it). Credentials go to the upstream and its
 * token realm only; nothing of them reaches Wharf's clients.
 */
import { MediaType } from '../../oci/mediatypes.ts';

/** Why an upstream request failed, as the pull path must tell them apart. */
export type UpstreamFailure = 'unavailable' | 'rate-limited' | 'denied';

export class UpstreamError extends Error {
  readonly failure: UpstreamFailure;
  readonly status: number | null;
  constructor(failure: UpstreamFailure, message: string, status: number | null = null) {
    super(message);
    this.failure = failure;
    this.status = status;
  }
}

export interface UpstreamOptions {
  url: string;
  username: string | null;
  password: string | null;
  /** Longest wait for the answer's headers. */
  timeoutMs: number;
}

/** Every manifest type a client of Wharf may pull; the stored bytes are served as they came. */
export const MANIFEST_ACCEPT = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList].join(', ');

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"` → scheme and parameters. */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m?.[1]) return null;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g)) {
    if (p[1]) params[p[1].toLowerCase()] = p[2] ?? p[3] ?? '';
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** A response body being read: its chunks in order, or cancelled. */
export interface HeldBody {
  chunks(): AsyncGenerator<Uint8Array>;
  cancel(): Promise<void>;
}

/**
 * Locks a response body for reading at once. undici cancels the body of a Response that is
 * garbage-collected while its body is neither locked nor read, and the body then reads as empty
 * (no error): a body kept without its Response across awaits (the blob path opens an upload
 * session first) ended with 0 bytes whenever a collection ran in between.
 */
export function holdBody(stream: ReadableStream<Uint8Array>): HeldBody {
  const reader = stream.getReader();
  return {
    async *chunks() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    },
    cancel: () => reader.cancel().catch(() => undefined),
  };
}

export class UpstreamClient {
  private readonly opts: UpstreamOptions;
  private readonly base: string;
  /** Bearer tokens by scope, until shortly before they expire. */
  private readonly tokens = new Map<string, { value: string; until: number }>();
  /** The upstream asked for Basic once: send it up front from then on. */
  private basicUpFront = false;

  constructor(opts: UpstreamOptions) {
    this.opts = opts;
    this.base = opts.url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  private basicHeader(): string | null {
    if (this.opts.username === null) return null;
    return `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}`;
  }

  /**
   * One request to `/v2/<repo>/<path>`. 401 answers are handled here (token or Basic, then one
   * retry); network failures, timeouts, 5xx and 429 throw UpstreamError; other statuses (200,
   * 404, …) are returned for the caller to read.
   */
  async request(method: 'GET' | 'HEAD', repo: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const scope = `repository:${repo}:pull`;
    const url = `${this.base}/v2/${repo}/${path}`;
    let auth = this.authFor(scope);
    let res = await this.send(method, url, headers, auth);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      auth = await this.answer(challenge, scope);
      if (auth === null) throw new UpstreamError('denied', `upstream ${this.base} requires credentials`, 401);
      res = await this.send(method, url, headers, auth);
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        this.tokens.delete(scope);
        throw new UpstreamError('denied', `upstream ${this.base} refused the credentials for ${repo} (${res.status})`, res.status);
      }
    }
    if (res.status === 429) {
      await res.body?.cancel();
      throw new UpstreamError('rate-limited', `upstream ${this.base} is rate-limiting (429)`, 429);
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new UpstreamError('unavailable', `upstream ${this.base} answered ${res.status}`, res.status);
    }
    return res;
  }

  private authFor(scope: string): string | null {
    const t = this.tokens.get(scope);
    if (t && t.until > Date.now()) return `Bearer ${t.value}`;
    return this.basicUpFront ? this.basicHeader() : null;
  }

  private async answer(challenge: Challenge | null, scope: string): Promise<string | null> {
    if (challenge?.scheme === 'basic') {
      this.basicUpFront = true;
      return this.basicHeader();
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params['realm']) return this.basicHeader();
    const realm = new URL(challenge.params['realm']);
    if (challenge.params['service']) realm.searchParams.set('service', challenge.params['service']);
    realm.searchParams.set('scope', challenge.params['scope'] ?? scope);
    const basic = this.basicHeader();
    if (this.opts.username !== null) realm.searchParams.set('account', this.opts.username);
    const res = await this.send('GET', realm.toString(), { accept: 'application/json' }, basic);
    if (res.status === 429) throw new UpstreamError('rate-limited', `token service of ${this.base} is rate-limiting (429)`, 429);
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status >= 500) throw new UpstreamError('unavailable', `token service of ${this.base} answered ${res.status}`, res.status);
      throw new UpstreamError('denied', `token service of ${this.base} refused the credentials (${res.status})`, res.status);
    }
    const body = (await res.json().catch(() => null)) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    const token = typeof body?.token === 'string' ? body.token : typeof body?.access_token === 'string' ? body.access_token : null;
    if (!token) throw new UpstreamError('unavailable', `token service of ${this.base} answered without a token`);
    const ttl = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    // Renewed a little early, so a token never expires between the check and the request.
    this.tokens.set(scope, { value: token, until: Date.now() + Math.max(ttl - 10, 5) * 1000 });
    return `Bearer ${token}`;
  }

  private async send(method: string, url: string, headers: Record<string, string>, auth: string | null): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.opts.timeoutMs);
    try {
      // Redirects are followed (blob storage behind the upstream); fetch drops Authorization on a
      // redirect to another origin, so the credentials stay with the upstream.
      return await fetch(url, { method, headers: { ...headers, ...(auth ? { authorization: auth } : {}) }, signal: controller.signal, redirect: 'follow' });
    } catch (err) {
      const why = controller.signal.aborted ? `no answer within ${this.opts.timeoutMs} ms` : err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new UpstreamError('unavailable', `upstream ${this.base} unreachable: ${why}`);
    } finally {
      // Only the wait for headers is bounded; the body then streams as long as it moves.
      clearTimeout(timer);
    }
  }
}
