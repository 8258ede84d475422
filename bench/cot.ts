/**
 * COT ingestion throughput: every fixture file (times `n` with synthetic markets) downloaded from a local
 * CFTC stand-in, unzipped, parsed, staged, upserted and its indicators computed, by a worker of its own (a
 * process, as deployed), beside the floor of any ingestion into PostgreSQL measured in the same run: PostgreSQL's
 * own `COPY … (FORMAT csv, HEADER)` of the same files, unzipped, into tables of text columns, one per report type,
 * as many files at once as the ingestion loads. Also the worker's peak RSS, and parsing alone from memory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import Papa from 'papaparse';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Knex } from '../db/knex.js';
import { parseCotBatches } from '../lib/cot/parse.js';
import { reports, reportTypes, type ReportType } from '../lib/cot/reports.js';
import { spawnWorker } from '../test/faults/processes.js';
import { fixtures, startCftc, unzipText } from '../test/cftc.js';
import { signIn } from '../test/helpers.js';
import { COT_WORKFLOW_ID } from '../workflows/contracts/cot.js';
import { workflowsPath } from '../workers/worker.js';
import { benchEnvironment, runPool, writeResult } from './harness.js';

const GOALS = { ratio: 0.5, rssMb: 300 };
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;

/** One file as the ingestion reads it: a yearly zip's text member or a current-week file (headerless). */
interface RawFile {
  type: ReportType;
  text: Buffer;
  header: boolean;
  width: number;
}

/** Every file the stand-in serves, fetched and unzipped: the same bytes the ingestion parses. */
async function servedFiles(baseUrl: string): Promise<RawFile[]> {
  const paths = [
    ...fixtures.map((f) => ({ type: f.type, path: reports[f.type].yearlyZip[f.subtype](f.year), zip: true })),
    ...reportTypes.flatMap((type) =>
      Object.values(reports[type].weeklyFile).map((p) => ({ type, path: p, zip: false })),
    ),
  ];
  const files: RawFile[] = [];
  for (const { type, path: p, zip } of paths) {
    const res = await fetch(new URL(p, baseUrl));
    if (res.status === 404) continue;
    const body = Buffer.from(await res.arrayBuffer());
    const text = zip ? Buffer.from(await unzipText(body)) : body;
    const first = Papa.parse<string[]>(text.subarray(0, text.indexOf('\n')).toString()).data[0];
    files.push({ type, text, header: zip, width: first.length });
  }
  return files;
}

/**
 * PostgreSQL's COPY of `files` into `cot_floor_<type>` (text columns), `concurrency` files at once: rows and
 * seconds from the first COPY's start to the last one's end.
 */
async function copyFloor(db: Knex, files: RawFile[], concurrency: number): Promise<{ rows: number; seconds: number }> {
  for (const type of reportTypes) {
    const width = Math.max(0, ...files.filter((f) => f.type === type).map((f) => f.width));
    await db.raw(`DROP TABLE IF EXISTS cot_floor_${type}`);
    await db.raw(
      `CREATE TABLE cot_floor_${type} (${Array.from({ length: width }, (_, i) => `c${i + 1} text`).join(', ')})`,
    );
  }
  let rows = 0;
  const seconds = await runPool(files.length, concurrency, async (i) => {
    const f = files[i];
    const client = (await db.client.acquireConnection()) as PoolClient;
    try {
      const columns = Array.from({ length: f.width }, (_, c) => `c${c + 1}`).join(', ');
      const copy = client.query(
        copyFrom(`COPY cot_floor_${f.type} (${columns}) FROM STDIN (FORMAT csv${f.header ? ', HEADER' : ''})`),
      );
      await pipeline(Readable.from([f.text]), copy);
      rows += copy.rowCount ?? 0;
    } finally {
      db.client.releaseConnection(client);
    }
  });
  for (const type of reportTypes) await db.raw(`DROP TABLE cot_floor_${type}`);
  return { rows, seconds };
}

/** Parsing alone, from memory, no database: rows/s. */
async function parseOnlyRowsPerS(files: RawFile[]): Promise<number> {
  let rows = 0;
  const started = performance.now();
  for (const f of files)
    for await (const batch of parseCotBatches(Readable.from([f.text]), f.type))
      rows += batch.filter((r) => !('reason' in r)).length;
  return rows / ((performance.now() - started) / 1000);
}

/** A process's resident memory now (VmRSS) and its peak so far (VmHWM), in MB. */
function rssMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Run {
  status: string;
  finished_at: string;
  rows: { read: number; inserted: number; rejected: number };
}

/**
 * Starts an ingestion through the API and waits for it, its workflow closed too (the next one may start then): the run,
 * and seconds from the request to the run settled.
 */
async function ingest(
  env: Awaited<ReturnType<typeof benchEnvironment>>,
  token: string,
  body: Record<string, unknown>,
): Promise<{ run: Run; seconds: number }> {
  const { apiUrl } = env;
  const auth = { authorization: `Bearer ${token}` };
  const posted = Date.now();
  const res = await fetch(`${apiUrl}/api/v1/cot/ingestions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`ingestion refused: ${res.status} ${await res.text()}`);
  const { ingestion } = (await res.json()) as { ingestion: { id: string } };
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const run = (await (
      await fetch(`${apiUrl}/api/v1/cot/ingestions/${ingestion.id}`, { headers: auth })
    ).json()) as Run;
    if (run.status === 'running') continue;
    if (run.status !== 'succeeded') throw new Error(`ingestion ended ${run.status}`);
    await env.deps.temporal.client.workflow.getHandle(COT_WORKFLOW_ID, ingestion.id).result();
    // The run's own end (this machine's clock), not the next poll.
    return { run, seconds: (Date.parse(run.finished_at) - posted) / 1000 };
  }
}

export async function cotBench({ n = 1 } = {}) {
  const cftc = await startCftc({ copies: n });
  const env = await benchEnvironment(
    { CFTC_BASE_URL: cftc.url, OUTBOUND_ALLOWLIST: '127.0.0.1/32', COT_SCHEDULE: 'off' },
    { worker: false },
  );
  let worker: Awaited<ReturnType<typeof spawnWorker>> | undefined;
  try {
    const db = env.deps.db;
    const concurrency = env.config.cot.concurrency;
    // The floor first, its tables dropped after: nothing of it is left to vacuum while the ingestion runs.
    const files = await servedFiles(cftc.url);
    const floor = await copyFloor(db, files, concurrency);
    const serial = await copyFloor(db, files, 1);

    // Deployed as it should be, with the workflow code bundled beforehand (webpack's memory is not the worker's).
    const bundlePath = path.join(env.settings.DATA_DIR, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code);
    worker = await spawnWorker({ ...env.settings, WORKFLOW_BUNDLE_PATH: bundlePath });
    const pid = worker.child.pid!;
    const { token } = await signIn(env.apiUrl, 'admin');
    // A run with nothing to load (no such year, no current-week file) first: the timed one finds the worker ready.
    cftc.setWeekly(false);
    await ingest(env, token, { years: [1986] });
    cftc.setWeekly(true);

    const before = rssMb(pid);
    let peakDuringRun = 0;
    const sampler = setInterval(() => (peakDuringRun = Math.max(peakDuringRun, rssMb(pid).now)), 50);
    const years = [...new Set(fixtures.map((f) => f.year))].sort();
    const { run, seconds: ingestSeconds } = await ingest(env, token, { years }).finally(() => clearInterval(sampler));
    const rss = { before: before.now, run: Math.max(peakDuringRun, rssMb(pid).now), lifetime: rssMb(pid).peak };
    if (floor.rows !== run.rows.read)
      throw new Error(`the floor copied ${floor.rows} rows, the ingestion read ${run.rows.read}`);

    const parseRate = await parseOnlyRowsPerS(files);
    const indicators = Number((await db('cot_indicators').count<{ count: string }[]>('* as count'))[0].count);
    const ingestRate = run.rows.read / ingestSeconds;
    const floorRate = floor.rows / floor.seconds;
    const serialRate = serial.rows / serial.seconds;
    const result = {
      copies: n,
      rows_read: run.rows.read,
      rows_rejected: run.rows.rejected,
      reports_with_indicators: indicators,
      ingest_seconds: ingestSeconds,
      ingest_rows_per_s: ingestRate,
      files: files.length,
      concurrency,
      floor_copy_seconds: floor.seconds,
      floor_rows_per_s: floorRate,
      floor_one_file_at_a_time_rows_per_s: serialRate,
      ratio: ingestRate / floorRate,
      goal: GOALS.ratio,
      worker_rss_mb: rss,
      parse_only_rows_per_s: parseRate,
      variants: {
        'beside the floor copying one file at a time': ingestRate / serialRate,
        'parsing alone from memory, no database, beside the floor': parseRate / floorRate,
      },
      goals: [
        {
          label: `worker peak RSS during the run at n ${n}`,
          value: `${rss.run.toFixed(0)} MB (${rss.before.toFixed(0)} MB idle before it)`,
          goal: `< ${GOALS.rssMb} MB at n 3`,
          met: rss.run < GOALS.rssMb,
        },
      ],
    };
    const file = writeResult('cot', result);
    console.log(
      `cot: ${run.rows.read} rows (×${n}) ingested end to end in ${ingestSeconds.toFixed(2)} s = ${ingestRate.toFixed(0)} rows/s ` +
        `(download, unzip, parse, stage, upsert, indicators of ${indicators} reports); PostgreSQL's COPY of the same ` +
        `${files.length} files, unzipped, ${concurrency} at a time: ${floor.seconds.toFixed(2)} s = ${floorRate.toFixed(0)} rows/s ` +
        `→ ratio ${result.ratio.toFixed(2)} (goal ≥ ${GOALS.ratio}); one file at a time ${serialRate.toFixed(0)} rows/s → ` +
        `${(ingestRate / serialRate).toFixed(2)}; worker RSS ${rss.before.toFixed(0)} MB before, peak ${rss.run.toFixed(0)} MB ` +
        `during the run (goal < ${GOALS.rssMb} MB at n 3; ${rss.lifetime.toFixed(0)} MB since its start); ` +
        `parsing alone, in memory: ${parseRate.toFixed(0)} rows/s = ${(parseRate / floorRate).toFixed(2)} of the floor → ${file}`,
    );
    return result;
  } finally {
    await worker?.kill();
    await env.close();
    await cftc.close();
  }
}
