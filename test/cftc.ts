/**
 * A local stand-in for www.cftc.gov serving the real files in ../shared/fixtures/cot: yearly zips at
 * CFTC's paths (the two original CFTC zips as they are, the others zipped from the text files) and
 * current-week files (headerless: every record of the newest report date, unedited). The newest
 * report date of each report is held back from its yearly zip, so only the weekly file brings it.
 * Like CFTC's web server, it sends `ETag` and `Last-Modified` and answers a conditional GET for an
 * unchanged body with 304 (`setValidators(false)` makes it a server that sends and honours neither).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { reports, type ReportType, type Subtype } from '../lib/cot/reports.js';

/** `../shared` beside the project root, as the fixtures' README places it; SHARED_DIR names another. */
export const FIXTURES = path.join(
  process.env.SHARED_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared'),
  'fixtures/cot',
);

/** What CFTC names the text file inside each yearly zip. */
const MEMBER: Record<ReportType, Record<Subtype, string>> = {
  legacy: { fo: 'annual.txt', co: 'annualof.txt' },
  disagg: { fo: 'f_year.txt', co: 'c_year.txt' },
  tff: { fo: 'FinFutYY.txt', co: 'FinComYY.txt' },
};

export interface Fixture {
  file: string;
  type: ReportType;
  subtype: Subtype;
  year: number;
  zip: boolean;
}

/** Every fixture file, by name (`<type>_<fo|co>_<year>_<source>`); the subset copy is left to parser tests. */
export const fixtures: Fixture[] = readdirSync(FIXTURES)
  .filter((f) => /\.(csv|zip)$/.test(f) && !f.includes('_subset'))
  .map((file) => {
    const [type, subtype, year] = file.split('_');
    return {
      file,
      type: type as ReportType,
      subtype: subtype as Subtype,
      year: Number(year),
      zip: file.endsWith('.zip'),
    };
  });

/** Lines with their own endings (CRLF or LF, as the file has them). */
export const linesOf = (text: string) => text.split(/(?<=\n)/).filter((l) => l.trim() !== '');
const ISO_DATE = /,\s*(\d{4}-\d{2}-\d{2})\s*,/;
const dateOf = (line: string) => ISO_DATE.exec(line)?.[1] ?? null;

export function zipOf(member: string, content: Buffer): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(content, member, { mtime: new Date('2026-01-01T00:00:00Z') });
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** The text member of a zip, as CFTC's own archives hold it. */
export function unzipText(zip: Buffer): Promise<string> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, file) => {
      if (error) return reject(error);
      file.once('entry', (entry: yauzl.Entry) =>
        file.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream
            .on('data', (c: Buffer) => chunks.push(c))
            .once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
            .once('error', reject);
        }),
      );
      file.readEntry();
    }),
  );
}

interface Served {
  body: Buffer;
  /** Data records in the served text (what a loader must read). */
  records: number;
}

/** A record of a synthetic market: the same numbers under a contract code of its own. */
const CODE_FIELD = /^("(?:[^"]|"")*"\s*,[^,]*,[^,]*,)\s*([0-9A-Z+]+)/;
const copiesOf = (records: string[], copies: number) =>
  records.concat(
    ...Array.from({ length: copies - 1 }, (_, i) =>
      records.map((l) => l.replace(CODE_FIELD, (_m, head, code) => `${head}${code}S${i + 1}`)),
    ),
  );

/**
 * `copies` > 1 multiplies every file for benchmarks: each record again under a synthetic code per copy.
 */
export async function startCftc({ copies = 1 }: { copies?: number } = {}) {
  const files = new Map<string, Served>();
  const overrides = new Map<string, Buffer | number>();
  /** When each path's body last changed (its `Last-Modified`). */
  const modified = new Map<string, Date>();
  const statuses: { path: string; status: number }[] = [];
  let weeklyOn = true;
  let validatorsOn = true;

  const newest = new Map<string, Fixture>();
  for (const f of fixtures) {
    const key = `${f.type}/${f.subtype}`;
    if (!newest.has(key) || newest.get(key)!.year < f.year) newest.set(key, f);
  }
  for (const f of fixtures) {
    const raw = readFileSync(path.join(FIXTURES, f.file));
    const yearly = reports[f.type].yearlyZip[f.subtype](f.year);
    const isNewest = newest.get(`${f.type}/${f.subtype}`) === f;
    const [header, ...original] = linesOf(f.zip ? await unzipText(raw) : raw.toString('utf8'));
    const records = copiesOf(original, copies);
    const latest = records.map(dateOf).filter(Boolean).sort().pop();
    if (f.zip || !isNewest || !latest) {
      // The original CFTC archives are served as they are, unless multiplied.
      const body =
        f.zip && copies === 1 ? raw : await zipOf(MEMBER[f.type][f.subtype], Buffer.from(header + records.join('')));
      files.set(yearly, { body, records: records.length });
      continue;
    }
    const older = records.filter((l) => dateOf(l) !== latest);
    const week = records.filter((l) => dateOf(l) === latest);
    files.set(yearly, {
      body: await zipOf(MEMBER[f.type][f.subtype], Buffer.from(header + older.join(''))),
      records: older.length,
    });
    files.set(reports[f.type].weeklyFile[f.subtype], { body: Buffer.from(week.join('')), records: week.length });
  }

  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const override = overrides.get(pathname);
    const served = files.get(pathname);
    const weekly = pathname.startsWith('/dea/newcot/');
    const answer = (status: number, headers: Record<string, string | number> = {}, body?: string | Buffer) => {
      statuses.push({ path: pathname, status });
      res.writeHead(status, headers).end(body);
    };
    if (typeof override === 'number') return answer(override);
    const body = override ?? (served && (!weekly || weeklyOn) ? served.body : null);
    if (!body) return answer(404, { 'content-type': 'text/html' }, '<h1>Page not found</h1>');
    const headers = { 'content-type': weekly ? 'text/plain' : 'application/zip', 'content-length': body.length };
    if (!validatorsOn) return answer(200, headers, body);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    if (!modified.has(pathname)) modified.set(pathname, new Date());
    const lastModified = modified.get(pathname)!.toUTCString();
    // RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    const fresh =
      ifNoneMatch !== undefined
        ? ifNoneMatch.split(/\s*,\s*/).some((tag) => tag.replace(/^W\//, '') === etag)
        : ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= Date.parse(lastModified);
    if (fresh) return answer(304, { etag, 'last-modified': lastModified });
    answer(200, { ...headers, etag, 'last-modified': lastModified }, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Data records in what a path serves: what the loader must read from it. */
    records: (p: string) => files.get(p)?.records,
    /** Serve something else (or an HTTP status) at a path until `restore`; its `Last-Modified` is now. */
    override: (p: string, body: Buffer | number) => {
      overrides.set(p, body);
      modified.set(p, new Date());
    },
    restore: () => {
      for (const p of overrides.keys()) modified.set(p, new Date());
      overrides.clear();
    },
    /** Whether responses carry `ETag`/`Last-Modified` and conditional requests get 304 (on by default). */
    setValidators: (on: boolean) => void (validatorsOn = on),
    /** The statuses answered for a path so far, oldest first. */
    statuses: (p: string) => statuses.filter((s) => s.path === p).map((s) => s.status),
    /** Whether the current-week files exist (a week before they are published, they hold nothing new). */
    setWeekly: (on: boolean) => void (weeklyOn = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
