/**
 * Outbound HTTP to addresses our users give us (webhook endpoints, shop pages). The resolved address
 * is checked when the socket connects — so DNS rebinding cannot slip a private address past an
 * earlier check — against loopback, private, link-local, metadata and other non-public ranges.
 * OUTBOUND_ALLOWLIST (CIDRs) opens specific ranges for tests and local development.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import ipaddr from 'ipaddr.js';
import { Agent, request, type Dispatcher } from 'undici';

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseAllowList(value: string | undefined): Cidr[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) =>
      entry.includes('/') ? ipaddr.parseCIDR(entry) : ([ipaddr.parse(entry), entry.includes(':') ? 128 : 32] as Cidr),
    );
}

/** Only globally routable unicast addresses are public; everything else needs the allow-list. */
export function isAllowedAddress(address: string, allowList: Cidr[]): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (allowList.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))) return true;
  return ip.range() === 'unicast';
}

export function assertAllowedUrl(raw: string, allowList: Cidr[]): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BlockedAddressError(`only http(s) URLs are allowed, not ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isAllowedAddress(host, allowList))
    throw new BlockedAddressError(`${host} is not a public address`);
  return url;
}

/** An undici dispatcher whose every connection is checked after DNS resolution. */
export function guardedAgent(allowList: Cidr[], options: Agent.Options = {}): Agent {
  return new Agent({
    ...options,
    connect: {
      ...options.connect,
      lookup(hostname, opts, callback) {
        dnsLookup(hostname, { ...opts, all: true }, (error, addresses) => {
          if (error) return callback(error, [] as never);
          const list = addresses as LookupAddress[];
          const blocked = list.find((a) => !isAllowedAddress(a.address, allowList));
          if (blocked)
            return callback(
              new BlockedAddressError(`${hostname} resolves to ${blocked.address}, which is not a public address`),
              [] as never,
            );
          callback(null, list as never);
        });
      },
    },
  });
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** At most `maxBytes` of the body. */
  body: string;
  /** Where the body came from, after redirects. */
  url: URL;
}

export class TooLargeError extends Error {
  readonly code = 'ETOOLARGE';
}

export class UnsupportedEncodingError extends Error {
  readonly code = 'EUNSUPPORTEDENCODING';
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * The body as the peer meant it: decoded per `Content-Encoding` (RFC 9110 §8.4: gzip, x-gzip, deflate, br,
 * identity, in the order they were applied). Peers compress whether or not they were asked to; an encoding
 * we cannot decode throws UnsupportedEncodingError rather than handing compressed bytes on as text.
 */
export function decodedBody(body: Readable, headers: Headers): Readable {
  const raw = headers['content-encoding'];
  const codings = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
  let stream = body;
  for (const coding of codings.reverse()) {
    const decoder =
      coding === 'gzip' || coding === 'x-gzip'
        ? createGunzip()
        : coding === 'deflate'
          ? createInflate()
          : coding === 'br'
            ? createBrotliDecompress()
            : null;
    if (!decoder) {
      body.destroy();
      throw new UnsupportedEncodingError(`the answer is encoded as ${coding}, which cannot be decoded`);
    }
    const source = stream;
    source.on('error', (error) => decoder.destroy(error));
    stream = source.pipe(decoder);
  }
  return stream;
}

/**
 * Reads a body, decoded, up to `maxBytes` (of decoded bytes: a small compressed answer cannot inflate past
 * the cap). Past it, `overflow: 'truncate'` keeps the first `maxBytes`, `'fail'` throws TooLargeError.
 */
export async function readBody(
  body: Readable,
  headers: Headers,
  maxBytes: number,
  overflow: 'truncate' | 'fail',
): Promise<Buffer> {
  const stream = decodedBody(body, headers);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        if (overflow === 'fail') throw new TooLargeError(`the answer is larger than ${maxBytes} bytes`);
        break;
      }
    }
  } finally {
    stream.destroy();
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

export class TooManyRedirectsError extends Error {
  readonly code = 'ETOOMANYREDIRECTS';
}

export class BadRedirectError extends Error {
  readonly code = 'EBADREDIRECT';
}

/**
 * One request with a deadline and a body cap (decoded bytes; past it the body is cut, or with
 * `overflow: 'fail'` TooLargeError is thrown); connection-level failures throw. With `redirects`, a GET
 * follows up to `max` of them, each target checked like the first URL.
 */
export async function outboundRequest(
  dispatcher: Dispatcher,
  url: URL,
  init: {
    method: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    timeoutMs: number;
    maxBytes: number;
    overflow?: 'truncate' | 'fail';
    redirects?: { max: number; allowList: Cidr[] };
  },
): Promise<OutboundResponse> {
  const signal = AbortSignal.timeout(init.timeoutMs);
  for (let hop = 0; ; hop++) {
    const res = await request(url, {
      dispatcher,
      method: init.method,
      headers: { 'accept-encoding': 'gzip, deflate, br', ...init.headers },
      body: init.body,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
      signal,
    });
    const location = res.headers.location;
    if (init.redirects && res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump();
      if (hop >= init.redirects.max) throw new TooManyRedirectsError(`more than ${init.redirects.max} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new BadRedirectError(`redirected to an invalid URL: ${location.slice(0, 200)}`);
      }
      url = assertAllowedUrl(next.toString(), init.redirects.allowList);
      continue;
    }
    const body = await readBody(res.body, res.headers, init.maxBytes, init.overflow ?? 'truncate');
    return {
      status: res.statusCode,
      headers: res.headers,
      body: body.toString('utf8'),
      url,
    };
  }
}
