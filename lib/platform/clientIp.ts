/**
 * The client's address behind reverse proxies. Every proxy appends the address it was reached from to
 * `X-Forwarded-For`, so only the right-hand end of the header is written by proxies we run; everything
 * to the left of it is whatever the client sent and can be forged. The address is therefore found by
 * walking from the socket peer leftwards over trusted hops only (the rule of Express's `trust proxy`
 * and RFC 7239 §7.4), never by taking the left-most value.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { parseAllowList } from './outbound.js';

/** Which hops are proxies of ours (`TRUST_PROXY`, `TRUSTED_PROXIES`). */
export interface ProxyTrust {
  /** How many proxies stand in front of the API; 0 with no `proxies` trusts none. */
  hops: number;
  /** When not empty, only a hop whose address is in one of these CIDRs is trusted. */
  proxies: ReturnType<typeof parseAllowList>;
}

/** `TRUSTED_PROXIES`: comma-separated CIDRs or single addresses; throws on a malformed entry. */
export const parseTrustedProxies = parseAllowList;

/** True when any proxy is trusted, i.e. when `X-Forwarded-*` headers mean anything at all. */
export const trustsProxies = (trust: ProxyTrust) => trust.hops > 0 || trust.proxies.length > 0;

/**
 * One address in canonical text (IPv4-mapped IPv6 as IPv4, IPv6 compressed), or undefined when `raw` is not
 * an address. Accepts the `1.2.3.4:port` and `[v6]:port` forms some proxies write.
 */
function canonical(raw: string): string | undefined {
  const text = raw.trim();
  const host = /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text)?.[1] ?? text;
  return isIP(host) ? ipaddr.process(host).toString() : undefined;
}

function isTrustedProxy(address: string, trust: ProxyTrust): boolean {
  if (trust.proxies.length === 0) return true;
  const ip = ipaddr.parse(address);
  return trust.proxies.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
}

/**
 * The client address for a request that arrived from `peer` (the socket's remote address) carrying
 * `forwardedFor` (the `X-Forwarded-For` header, duplicates joined by commas). Starting at the peer, each
 * step left crosses one proxy, taken while the current address is trusted: at most `trust.hops` steps
 * (unlimited when 0 and `trust.proxies` is set) and, with `trust.proxies`, only from a listed address.
 * A value that is not an address ends the walk, so the proxy that passed it on answers for it.
 * Returns canonical text (see `canonical`), or `peer` as given when it is not an address.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trust: ProxyTrust): string {
  let address = canonical(peer);
  if (address === undefined) return peer;
  if (!trustsProxies(trust) || !forwardedFor) return address;
  const chain = forwardedFor.split(',');
  for (let crossed = 0; chain.length > 0 && (trust.hops === 0 || crossed < trust.hops); crossed++) {
    if (!isTrustedProxy(address, trust)) break;
    const next = canonical(chain.pop()!);
    if (next === undefined) break;
    address = next;
  }
  return address;
}
