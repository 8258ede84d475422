/**
 * Fetches one CFTC file as a text stream: a yearly zip is downloaded to a temporary file (a zip's
 * directory sits at its end) and its text member streamed with its CRC checked; a current-week
 * file streams straight from the response. Sizes are capped; a damaged archive is a CotFormatError.
 * Given what the last read found, it asks conditionally and says when the file has not changed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import yauzl from 'yauzl';
import { decodedBody } from '../platform/outbound.js';
import { CotFormatError } from './parse.js';

export class CotHttpError extends Error {
  constructor(
    readonly status: number,
    url: URL,
  ) {
    super(`${url} answered HTTP ${status}`);
  }
  /** Worth another try later: the server or something before it is struggling. */
  get transient() {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** What identifies the file a URL served: its HTTP validators and, for a zip, the SHA-256 (hex) of its bytes. */
export interface CotValidators {
  etag: string | null;
  lastModified: string | null;
  sha256: string | null;
}

export interface SourceOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  /** What the last read of this URL found: sent as If-None-Match / If-Modified-Since and compared with. */
  previous?: CotValidators | null;
}

/** Counts bytes through and fails the stream past `maxBytes` (on a download or an unzipped member). */
function capped(maxBytes: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) return done(new CotFormatError(`${what} is larger than ${maxBytes} bytes`));
      done(null, chunk);
    },
  });
}

const openZip = (file: string) =>
  new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (error, zip) => (error ? reject(error) : resolve(zip!))),
  );

/** The archive's one text member (CFTC names it annual.txt, f_year.txt, FinFutYY.txt, …). */
async function textMember(zip: yauzl.ZipFile, maxBytes: number): Promise<Readable> {
  const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => (/\.(txt|csv)$/i.test(e.fileName) ? resolve(e) : zip.readEntry()));
    zip.once('end', () => resolve(null));
    zip.once('error', reject);
    zip.readEntry();
  });
  if (!entry) throw new CotFormatError('the zip holds no .txt or .csv file');
  if (entry.uncompressedSize > maxBytes)
    throw new CotFormatError(`zip member ${entry.fileName} is larger than ${maxBytes} bytes`);
  const open = () =>
    new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (error, s) => (error ? reject(error) : resolve(s!))),
    );
  // yauzl checks sizes, not checksums. Inflating twice costs little next to parsing, and a damaged
  // archive is then reported as such before a single record is read.
  let crc = 0;
  try {
    for await (const chunk of await open()) crc = crc32(chunk as Buffer, crc);
  } catch (error) {
    throw new CotFormatError(
      `zip member ${entry.fileName} cannot be inflated (${(error as Error).message}): the archive is corrupt`,
    );
  }
  if (crc >>> 0 !== entry.crc32 >>> 0)
    throw new CotFormatError(`zip member ${entry.fileName} fails its CRC check: the archive is corrupt`);
  return open();
}

/** The file's text, to parse; `close` releases the download. */
export interface CotSource {
  status: 'changed';
  stream: Readable;
  validators: CotValidators;
  close(): Promise<void>;
}
/** The file is the one `previous` describes: a 304, or a zip with the same SHA-256 (nothing left to close). */
export interface CotUnchanged {
  status: 'unchanged';
  validators: CotValidators;
}

/**
 * Opens the file at `url`; null when CFTC has no such file (404: a year not published yet). With
 * `opts.previous` the request is conditional (RFC 9110 §13): a 304, or a zip whose bytes hash the same
 * (a server that ignores validators), is `unchanged` and nothing is unpacked. Throws CotHttpError on
 * any other non-200 answer, CotFormatError on an oversized or damaged file.
 */
export async function openCotSource(
  url: URL,
  kind: 'zip' | 'text',
  opts: SourceOptions,
): Promise<CotSource | CotUnchanged | null> {
  const { previous } = opts;
  const headers: Record<string, string> = {};
  if (previous?.etag) headers['if-none-match'] = previous.etag;
  if (previous?.lastModified) headers['if-modified-since'] = previous.lastModified;
  const res = await request(url, {
    dispatcher: opts.dispatcher,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    signal: opts.signal,
    headers,
  });
  const header = (name: string) => [res.headers[name]].flat()[0] ?? null;
  if (res.statusCode === 404 || res.statusCode === 410) {
    await res.body.dump();
    return null;
  }
  // Only an answer to a conditional request may say "not modified"; any other 304 is an HTTP error.
  if (res.statusCode === 304 && previous && Object.keys(headers).length) {
    await res.body.dump();
    // A 304 carries the validators the 200 would have (RFC 9110 §15.4.5); the bytes are the ones hashed before.
    return {
      status: 'unchanged',
      validators: {
        etag: header('etag') ?? previous.etag,
        lastModified: header('last-modified') ?? previous.lastModified,
        sha256: previous.sha256,
      },
    };
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new CotHttpError(res.statusCode, url);
  }
  const validators: CotValidators = { etag: header('etag'), lastModified: header('last-modified'), sha256: null };
  // A server may compress whatever it serves (`Content-Encoding: gzip`); the cap counts the decoded bytes.
  const body = decodedBody(res.body, res.headers);
  if (kind === 'text') {
    const out = new PassThrough();
    pipeline(body, capped(opts.maxBytes, String(url)), out).catch((error) => out.destroy(error));
    return { status: 'changed', stream: out, validators, close: async () => void body.destroy() };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'meridian-cot-'));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, path.basename(url.pathname));
    const hash = createHash('sha256');
    await pipeline(
      body,
      capped(opts.maxBytes, String(url)),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file),
    );
    validators.sha256 = hash.digest('hex');
    if (validators.sha256 === previous?.sha256) {
      await close();
      return { status: 'unchanged', validators };
    }
    const zip = await openZip(file).catch((error: Error) =>
      Promise.reject(new CotFormatError(`${path.basename(file)} is not a readable zip: ${error.message}`)),
    );
    const stream = await textMember(zip, opts.maxBytes);
    return {
      status: 'changed',
      stream,
      validators,
      async close() {
        zip.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
