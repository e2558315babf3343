/**
 * Where a webhook may be delivered. Unless `webhooks.allowPrivateTargets` is on, addresses inside
 * the deployment are refused — loopback, private, link-local (cloud metadata at 169.254.169.254,
 * fd00:ec2::254), carrier-grade NAT, unspecified and multicast — so a webhook cannot be turned
 * into a probe of the network the registry sits in. The check is on every address the name
 * resolves to, at connection time (the socket connects to the checked address: no DNS rebinding).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const DENIED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  DENIED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  DENIED.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` (an IP literal) is inside the deployment's networks. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return DENIED.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return DENIED.check(mapped[1], 'ipv4');
    return DENIED.check(address, 'ipv6');
  }
  return true;
}

export class RefusedTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedTargetError';
  }
}

/** Checks a webhook URL's form (and its host when it is an IP literal); throws with the reason. */
export function checkTargetUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedTargetError('url must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RefusedTargetError('url must use http or https');
  if (url.username || url.password) throw new RefusedTargetError('url must not carry credentials (use the secret to authenticate deliveries)');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) {
    throw new RefusedTargetError(`${host} is a private, loopback or link-local address; set webhooks.allowPrivateTargets to deliver inside the network`);
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses private addresses (unless allowed) after resolving. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean } & Record<string, unknown>, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses;
      const bad = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(new RefusedTargetError(`${hostname} resolves to ${bad.address}, a private, loopback or link-local address; set webhooks.allowPrivateTargets to deliver inside the network`), []);
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
