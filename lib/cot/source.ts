/**
 * Fetches one CFTC file as a text stream: a yearly zip is downloaded to a temporary file (a zip's
 * directory sits at its end) and its text member streamed with its CRC checked; a current-week
 * file streams straight from the response. Sizes are capped; a damaged archive is a CotFormatError.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import yauzl from 'yauzl';
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

export interface SourceOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
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

export interface CotSource {
  stream: Readable;
  close(): Promise<void>;
}

/** Null when CFTC has no such file (404: a year not published yet). */
export async function openCotSource(url: URL, kind: 'zip' | 'text', opts: SourceOptions): Promise<CotSource | null> {
  const res = await request(url, {
    dispatcher: opts.dispatcher,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    signal: opts.signal,
  });
  if (res.statusCode === 404 || res.statusCode === 410) {
    await res.body.dump();
    return null;
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new CotHttpError(res.statusCode, url);
  }
  if (kind === 'text') {
    const out = new PassThrough();
    pipeline(res.body, capped(opts.maxBytes, String(url)), out).catch((error) => out.destroy(error));
    return { stream: out, close: async () => void res.body.destroy() };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'meridian-cot-'));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, path.basename(url.pathname));
    await pipeline(res.body, capped(opts.maxBytes, String(url)), createWriteStream(file));
    const zip = await openZip(file).catch((error: Error) =>
      Promise.reject(new CotFormatError(`${path.basename(file)} is not a readable zip: ${error.message}`)),
    );
    const stream = await textMember(zip, opts.maxBytes);
    return {
      stream,
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
