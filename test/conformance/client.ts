/**
 * A port of the HTTP client the Go conformance suite uses (github.com/bloodorangeio/reggie on
 * resty): requests built from path templates (`/v2/<name>/blobs/<digest>`), the Docker token
 * flow on a 401, and the response helpers the tests call (GetRelativeLocation, Errors).
 *
 * Wire behaviour copied from Go's net/http, because registries see it:
 * - A `Content-Length` set by a test never reaches the wire (net/http drops it from the header
 *   map). reggie wraps every body in io.NopCloser, so net/http cannot see its length and streams
 *   it with `Transfer-Encoding: chunked`. Without a body, POST/PUT/PATCH send `Content-Length: 0`
 *   ("PUT request to session URL with digest" sets the blob's length but sends no body). resty
 *   drops a body on GET and HEAD.
 * - Query parameters are appended sorted and form-encoded (`digest=sha256%3A…`), after any query
 *   already in a Location-derived path.
 * - When a JSON Content-Type is set and no Accept, Accept is the Content-Type (resty).
 * - GET/HEAD redirects are followed (up to 10), dropping Authorization across hosts.
 * - On a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` the client asks the
 *   realm for a token with Basic credentials (`OCI_AUTH_SCOPE` overrides the scope) and resends
 *   the request once with it; with a Basic challenge it resends with Basic credentials. No token
 *   is cached: every request goes through the challenge, like reggie.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ClientConfig {
  /** OCI_ROOT_URL without a trailing slash. */
  address: string;
  /** OCI_NAMESPACE: what `<name>` becomes unless a request names another repository. */
  defaultName: string;
  username: string;
  password: string;
  /** OCI_AUTH_SCOPE: replaces the challenge's scope in token requests. */
  authScope: string;
  userAgent: string;
  debug: boolean;
}

export interface PathParams {
  name?: string;
  reference?: string;
  digest?: string;
  sessionId?: string;
}

export interface ErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export class Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly method: Method;
  readonly url: string;

  constructor(method: Method, url: string, status: number, headers: IncomingHttpHeaders, body: Buffer) {
    this.method = method;
    this.url = url;
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** A header's first value, '' when absent (Go's Header.Get). */
  header(name: string): string {
    const v = this.headers[name.toLowerCase()];
    return (Array.isArray(v) ? v[0] : v) ?? '';
  }

  text(): string {
    return this.body.toString('utf8');
  }

  /** The path and query of the Location header (reggie GetRelativeLocation); '' when unparsable. */
  relativeLocation(): string {
    const loc = this.header('Location');
    let u: URL;
    try {
      u = new URL(loc, 'http://relative.invalid');
    } catch {
      return '';
    }
    return loc === '' ? '' : u.pathname + u.search;
  }

  /** The Location header as sent (reggie GetAbsoluteLocation). */
  absoluteLocation(): string {
    return this.header('Location');
  }

  /** The spec's error list (reggie Errors); throws when the body is not that JSON. */
  errors(): ErrorEntry[] {
    const parsed: unknown = JSON.parse(this.text());
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`error body is not a JSON object: ${this.text()}`);
    const list = (parsed as { errors?: unknown }).errors;
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new Error(`"errors" is not an array: ${this.text()}`);
    return list.map((e: unknown) => {
      if (e === null || typeof e !== 'object' || typeof (e as { code?: unknown }).code !== 'string') throw new Error(`malformed error entry: ${this.text()}`);
      return e as ErrorEntry;
    });
  }

  /** One line for assertion messages. */
  describe(): string {
    const body = this.text();
    return `${this.method} ${this.url} -> ${this.status}${body ? `: ${body.slice(0, 300)}` : ''}`;
  }
}

export class Request {
  readonly method: Method;
  readonly path: string;
  readonly headers = new Map<string, string>();
  readonly query = new Map<string, string>();
  body: Buffer | undefined;
  /**
   * Send the body with its Content-Length, as Go's net/http does for a bytes body (the current
   * suite's client); reggie's requests (the default) stream it chunked.
   */
  exactLength = false;

  constructor(method: Method, path: string) {
    this.method = method;
    this.path = path;
  }

  setHeader(name: string, value: string): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }

  setQueryParam(name: string, value: string): this {
    this.query.set(name, value);
    return this;
  }

  setBody(body: Buffer | string): this {
    this.body = typeof body === 'string' ? Buffer.from(body) : body;
    return this;
  }

  withLength(): this {
    this.exactLength = true;
    return this;
  }
}

const PLACEHOLDER = /<name>|<reference>|<digest>|<session_id>|\/\/{2,}/;

export class Client {
  private cfg: ClientConfig | undefined;
  // Keep-alive like Go's transport; close() releases the sockets.
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, rejectUnauthorized: false });

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  configure(cfg: ClientConfig): void {
    this.cfg = { ...cfg, address: cfg.address.replace(/\/+$/, '') };
  }

  get config(): ClientConfig {
    if (this.cfg === undefined) throw new Error('the conformance client is not configured (the registry did not start)');
    return this.cfg;
  }

  /** reggie NewRequest: fills `<name>`, `<reference>`, `<digest>`, `<session_id>` in the path. */
  newRequest(method: Method, path: string, params: PathParams = {}): Request {
    const values: [string, string | undefined][] = [
      ['<name>', params.name !== undefined && params.name !== '' ? params.name : this.config.defaultName],
      ['<reference>', params.reference],
      ['<digest>', params.digest],
      ['<session_id>', params.sessionId],
    ];
    let filled = path;
    // Empty values stay unfilled, and do() then refuses the request (reggie validateRequest).
    for (const [key, value] of values) if (value !== undefined && value !== '') filled = filled.split(key).join(value);
    return new Request(method, filled);
  }

  async do(req: Request): Promise<Response> {
    if (PLACEHOLDER.test(req.path)) throw new Error(`request is invalid: ${req.method} ${req.path}`);
    const url = this.url(req);
    // The current suite's client caches credentials (its CacheAuth, on by default) and sends
    // them up front; reggie's requests always start without.
    const key = req.exactLength ? authCacheKey(req) : undefined;
    const cached = key === undefined ? undefined : this.authCache.get(key);
    const first = await this.send(req, url, cached);
    if (first.status !== 401) return first;
    const { res, authorization } = await this.retryWithAuth(req, url, first);
    if (key !== undefined && authorization !== undefined && res.status !== 401) this.authCache.set(key, authorization);
    return res;
  }

  private readonly authCache = new Map<string, string>();

  private url(req: Request): string {
    let url = `${this.config.address}/${req.path.replace(/^\/+/, '')}`;
    if (req.query.size > 0) {
      const q = new URLSearchParams([...req.query.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))).toString();
      url += (url.includes('?') ? '&' : '?') + q;
    }
    return url;
  }

  private async retryWithAuth(req: Request, url: string, unauthorized: Response): Promise<{ res: Response; authorization?: string }> {
    const raw = unauthorized.header('WWW-Authenticate');
    if (raw === '') return { res: unauthorized };
    const { username, password, authScope, userAgent } = this.config;
    const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    const scheme = /bearer/i.test(raw) ? 'bearer' : /basic/i.test(raw) ? 'basic' : '';
    if (scheme === 'basic') return { res: await this.send(req, url, basic), authorization: basic };
    if (scheme !== 'bearer') throw new Error(`something went wrong with authorization: ${raw}`);

    const params = challengeParams(raw);
    const realm = new URL(params['realm'] ?? '');
    realm.searchParams.set('service', params['service'] ?? '');
    const scope = authScope !== '' ? authScope : (params['scope'] ?? '');
    if (scope !== '') realm.searchParams.set('scope', scope);
    const tokenReq = new Request('GET', '');
    tokenReq.setHeader('Accept', 'application/json').setHeader('User-Agent', userAgent);
    const tokenRes = await this.send(tokenReq, realm.toString(), basic);
    const info: unknown = JSON.parse(tokenRes.text());
    const record = (info ?? {}) as { token?: unknown; access_token?: unknown };
    const token = typeof record.token === 'string' && record.token !== '' ? record.token : typeof record.access_token === 'string' ? record.access_token : '';
    return { res: await this.send(req, url, `Bearer ${token}`), authorization: `Bearer ${token}` };
  }

  private async send(req: Request, url: string, authorization: string | undefined): Promise<Response> {
    let target = new URL(url);
    let auth = authorization;
    for (let hop = 0; ; hop++) {
      const res = await this.exchange(req, target, auth);
      const location = res.header('Location');
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location !== '' && (req.method === 'GET' || req.method === 'HEAD');
      if (!redirect || hop >= 10) return res;
      const next = new URL(location, target);
      if (next.host !== target.host) auth = undefined;
      target = next;
    }
  }

  private exchange(req: Request, url: URL, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.config.userAgent };
    for (const [k, v] of req.headers) headers[k] = v;
    const contentType = req.headers.get('content-type');
    if (!req.headers.has('accept') && contentType !== undefined && /(application|text)\/.*json.*(;|$)/i.test(contentType)) headers['accept'] = contentType;
    if (authorization !== undefined) headers['authorization'] = authorization;
    delete headers['content-length'];
    const body = req.method === 'GET' || req.method === 'HEAD' || req.body?.length === 0 ? undefined : req.body;
    if (body !== undefined && req.exactLength) headers['content-length'] = String(body.length);
    else if (body !== undefined) headers['transfer-encoding'] = 'chunked';
    else if (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') headers['content-length'] = '0';
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // A registry may answer (401, 413) before reading a large body and close the connection;
      // the write then fails with EPIPE although the answer arrived. Go's transport returns the
      // answer in that case, so a write error counts only when no response follows it.
      let responded = false;
      const r = send(url, { method: req.method, headers, agent: https ? this.httpsAgent : this.httpAgent }, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const out = new Response(req.method, url.pathname + url.search, res.statusCode ?? 0, res.headers, Buffer.concat(chunks));
          // The token endpoint's answer is a credential: show its status only.
          if (this.config.debug) process.stderr.write(`[oci-debug] ${authorization === undefined && req.path === '' ? `${req.method} ${url.pathname} -> ${out.status}` : out.describe()}\n`);
          resolve(out);
        });
      });
      r.on('error', (err) => {
        setTimeout(() => {
          if (!responded) reject(err);
        }, 200);
      });
      r.setTimeout(30_000, () => r.destroy(new Error(`${req.method} ${url.href} timed out`)));
      if (body !== undefined) r.write(body);
      r.end();
    });
  }
}

/** Cached credentials are per repository and per kind of access (pull for GET/HEAD, else push). */
function authCacheKey(req: Request): string {
  const name = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(req.path)?.[1] ?? '';
  return `${name} ${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push'}`;
}

/** `key="value"` pairs of a WWW-Authenticate challenge (reggie parseAuthHeader). */
export function challengeParams(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of raw.matchAll(/([a-zA-Z]+)="(.+?)"/g)) {
    const [, key, value] = m;
    if (key !== undefined && value !== undefined) out[key.toLowerCase()] = value;
  }
  return out;
}
