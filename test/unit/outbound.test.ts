import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../lib/platform/retryAfter.js';
import { assertAllowedUrl, isAllowedAddress, parseAllowList } from '../../lib/platform/outbound.js';

describe('outbound address checks', () => {
  const none = parseAllowList('');
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
  ])('refuses %s', (ip) => {
    expect(isAllowedAddress(ip, none)).toBe(false);
  });
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('allows public %s', (ip) => {
    expect(isAllowedAddress(ip, none)).toBe(true);
  });
  it('opens exactly the allow-listed ranges', () => {
    const list = parseAllowList('127.0.0.0/8, ::1');
    expect(isAllowedAddress('127.0.0.5', list)).toBe(true);
    expect(isAllowedAddress('::1', list)).toBe(true);
    expect(isAllowedAddress('10.0.0.1', list)).toBe(false);
  });
  it('refuses non-http schemes and literal private hosts', () => {
    expect(() => assertAllowedUrl('file:///etc/passwd', none)).toThrow(/http/);
    expect(() => assertAllowedUrl('gopher://x', none)).toThrow(/http/);
    expect(() => assertAllowedUrl('http://[::1]:8080/', none)).toThrow(/public/);
    expect(() => assertAllowedUrl('http://169.254.169.254/latest/meta-data', none)).toThrow(/public/);
    expect(assertAllowedUrl('https://example.com/hook', none).hostname).toBe('example.com');
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(undefined)).toBeNull();
  });
});
