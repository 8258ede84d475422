import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientAddress, parseTrustedProxies } from '../../lib/platform/clientIp.js';
import { loadConfig } from '../../lib/platform/config.js';

const hops = (n: number) => ({ hops: n, proxies: [] });
const listed = (cidrs: string, n = 0) => ({ hops: n, proxies: parseTrustedProxies(cidrs) });

describe('client address behind proxies', () => {
  it.each([
    // [peer, X-Forwarded-For, trust, expected]
    ['203.0.113.9', undefined, hops(0), '203.0.113.9'],
    ['::ffff:203.0.113.9', undefined, hops(0), '203.0.113.9'],
    // Trusting nobody, the header is ignored whatever it says.
    ['203.0.113.9', '198.51.100.1', hops(0), '203.0.113.9'],
    // One proxy: the entry it appended, not what the client wrote before it.
    ['10.0.0.2', '198.51.100.1', hops(1), '198.51.100.1'],
    ['10.0.0.2', '6.6.6.6, 198.51.100.1', hops(1), '198.51.100.1'],
    ['10.0.0.2', '6.6.6.6,7.7.7.7 , 198.51.100.1', hops(1), '198.51.100.1'],
    // Two proxies: the second-from-right entry; the proxy-to-proxy entry is skipped.
    ['10.0.0.2', '6.6.6.6, 198.51.100.1, 10.0.0.1', hops(2), '198.51.100.1'],
    // Fewer entries than hops: the left-most one there is (a misconfiguration, not a forgery: all proxy-written).
    ['10.0.0.2', '198.51.100.1', hops(3), '198.51.100.1'],
    // Port and bracket forms some proxies write; IPv6 canonicalised.
    ['10.0.0.2', '198.51.100.1:5555', hops(1), '198.51.100.1'],
    ['10.0.0.2', '[2001:DB8:0:0::1]:443', hops(1), '2001:db8::1'],
    ['10.0.0.2', '2001:db8::1', hops(1), '2001:db8::1'],
    // A value that is not an address: the proxy that passed it on answers for it.
    ['10.0.0.2', 'unknown', hops(1), '10.0.0.2'],
    ['10.0.0.2', '198.51.100.1, , 10.0.0.1', hops(2), '10.0.0.1'],
    // A trusted list: any number of listed hops, stopping at the first address not in it.
    ['10.0.0.2', '6.6.6.6, 198.51.100.1, 10.0.5.5, 10.1.2.3', listed('10.0.0.0/8'), '198.51.100.1'],
    ['::ffff:10.0.0.2', '6.6.6.6, 198.51.100.1', listed('10.0.0.0/8'), '198.51.100.1'],
    // A peer outside the list (a client reaching the API directly) forges nothing.
    ['198.51.100.7', '6.6.6.6', listed('10.0.0.0/8'), '198.51.100.7'],
    // A forged entry inside the list's range is crossed only as far as the list and the hop count allow.
    ['10.0.0.2', '6.6.6.6, 10.9.9.9, 198.51.100.1', listed('10.0.0.0/8'), '198.51.100.1'],
    ['10.0.0.2', '6.6.6.6, 10.9.9.9', listed('10.0.0.0/8', 1), '10.9.9.9'],
    ['2001:db8::5', '198.51.100.1', listed('2001:db8::/32, 10.0.0.1'), '198.51.100.1'],
  ])('%s with X-Forwarded-For %s', (peer, header, trust, expected) => {
    expect(clientAddress(peer, header, trust)).toBe(expected);
  });

  it('reads TRUST_PROXY as a hop count and TRUSTED_PROXIES as addresses or CIDRs, refusing anything else by name', () => {
    const env = {
      DATABASE_URL: 'postgres://x@127.0.0.1/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      JWT_SECRET: 'x'.repeat(40),
      SECRETS_KEY: randomBytes(32).toString('base64'),
    };
    expect(loadConfig(env).proxyTrust).toEqual({ hops: 0, proxies: [] });
    expect(loadConfig({ ...env, TRUST_PROXY: '1' }).proxyTrust.hops).toBe(1);
    expect(loadConfig({ ...env, TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1' }).proxyTrust.proxies).toHaveLength(2);
    expect(() => loadConfig({ ...env, TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ ...env, TRUST_PROXY: '-1' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ ...env, TRUSTED_PROXIES: '10.0.0.0/8, proxy.local' })).toThrow(/TRUSTED_PROXIES/);
    expect(() => loadConfig({ ...env, TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/TRUSTED_PROXIES/);
  });
});
