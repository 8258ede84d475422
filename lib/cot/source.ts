/**
 * Fetches one CFTC file as a text stream: a yearly zip is downloaded to a temporary file (a zip's
 * directory sits at its end) and its text member inflated as it is read, its CRC checked; a current-week
 * file streams straight from the response. Sizes are capped; a damaged archive is a CotFormatError.
 * Given what the last read found, it asks conditionally and says when the file has not changed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
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

/**
 * Whether CFTC answers that the file at `url` does not exist (404 or 410 to a HEAD request: not published
 * yet). Any other answer, a timeout or a network error says nothing: the download will find out.
 */
export async function cotFileMissing(
  url: URL,
  opts: Pick<SourceOptions, 'dispatcher' | 'timeoutMs' | 'signal'>,
): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'HEAD',
      dispatcher: opts.dispatcher,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: opts.signal,
    });
    await res.body.dump();
    return res.statusCode === 404 || res.statusCode === 410;
  } catch {
    return false;
  }
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
async function textEntry(zip: yauzl.ZipFile, maxBytes: number): Promise<yauzl.Entry> {
  const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => (/\.(txt|csv)$/i.test(e.fileName) ? resolve(e) : zip.readEntry()));
    zip.once('end', () => resolve(null));
    zip.once('error', reject);
    zip.readEntry();
  });
  if (!entry) throw new CotFormatError('the zip holds no .txt or .csv file');
  if (entry.uncompressedSize > maxBytes)
    throw new CotFormatError(`zip member ${entry.fileName} is larger than ${maxBytes} bytes`);
  return entry;
}

/**
 * The member inflated once as it is read, in 64 KiB pieces (zlib's default is 16 KiB: four times the calls), its
 * size and CRC checked as it streams: a damaged member fails the stream, at the latest at its end, before whoever
 * reads it has finished.
 */
async function checkedMember(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  const corrupt = (error: Error) =>
    new CotFormatError(`zip member ${entry.fileName} cannot be inflated (${error.message}): the archive is corrupt`);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
    throw new CotFormatError(`zip member ${entry.fileName} uses compression method ${entry.compressionMethod}`);
  const deflated = entry.compressionMethod === 8;
  const raw = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, deflated ? { decompress: false } : {}, (error, s) =>
      error ? reject(corrupt(error)) : resolve(s!),
    ),
  );
  let crc = 0;
  let size = 0;
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > entry.uncompressedSize) return done(corrupt(new Error(`more than ${entry.uncompressedSize} bytes`)));
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      if (size !== entry.uncompressedSize)
        return done(corrupt(new Error(`${size} of ${entry.uncompressedSize} bytes`)));
      done(
        crc >>> 0 === entry.crc32 >>> 0
          ? null
          : new CotFormatError(`zip member ${entry.fileName} fails its CRC check: the archive is corrupt`),
      );
    },
  });
  const inflated = deflated ? raw.pipe(createInflateRaw({ chunkSize: 1 << 16 })) : raw;
  for (const stream of new Set([raw, inflated])) stream.once('error', (error) => checked.destroy(corrupt(error)));
  // A reader that stops early (a parse failure) stops the inflating too.
  checked.once('close', () => {
    raw.destroy();
    inflated.destroy();
  });
  return inflated.pipe(checked);
}

/** The file's text, to parse; `close` releases the download. */
export interface CotSource {
  status: 'changed';
  stream: Readable;
  validators: CotValidators;
  /**
   * After reading `stream` failed: why the archive is damaged (a CotFormatError), or null when it is not (a
   * current-week file, or a sound zip). Damaged bytes may read as malformed records before the inflater or
   * the CRC notices; the damage is what to report.
   */
  damage(): Promise<CotFormatError | null>;
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
    return {
      status: 'changed',
      stream: out,
      validators,
      damage: async () => null,
      close: async () => void body.destroy(),
    };
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
    const entry = await textEntry(zip, opts.maxBytes);
    return {
      status: 'changed',
      stream: await checkedMember(zip, entry),
      validators,
      async damage() {
        try {
          const again = await checkedMember(zip, entry);
          await finished(again.resume());
          return null;
        } catch (error) {
          return error instanceof CotFormatError ? error : new CotFormatError(String(error));
        }
      },
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
