/**
 * COT ingestion throughput: every fixture file (times `n` with synthetic markets) downloaded from a
 * local CFTC stand-in, parsed, staged, upserted and indexed, beside the baseline of a plain COPY of
 * the same normalised rows into a bare table on the same database.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { parseCotFile } from '../lib/cot/parse.js';
import { reportColumns } from '../lib/cot/reports.js';
import { FIXTURES, startCftc, fixtures, unzipText } from '../test/cftc.js';
import { signIn } from '../test/helpers.js';
import { benchEnvironment, writeResult } from './harness.js';

const COLUMNS = reportColumns.join(', ');

/** Parsing alone, from memory, `copies` times over: a ceiling no ingestion passes, whatever follows the parse. */
async function parseOnlyRowsPerS(copies: number): Promise<number> {
  const texts = await Promise.all(
    fixtures.map(async (f) => {
      const bytes = readFileSync(path.join(FIXTURES, f.file));
      return { type: f.type, text: f.zip ? await unzipText(bytes) : bytes.toString('utf8') };
    }),
  );
  let rows = 0;
  const started = performance.now();
  for (let copy = 0; copy < copies; copy++) {
    for (const { type, text } of texts)
      for await (const row of parseCotFile(Readable.from([text]), type)) if (!('reason' in row)) rows++;
  }
  return rows / ((performance.now() - started) / 1000);
}

export async function cotBench({ n = 1 } = {}) {
  const cftc = await startCftc({ copies: n });
  const env = await benchEnvironment({
    CFTC_BASE_URL: cftc.url,
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    COT_SCHEDULE: 'off',
  });
  try {
    const { token } = await signIn(env.apiUrl, 'admin');
    const years = [...new Set(fixtures.map((f) => f.year))].sort();
    const started = performance.now();
    const res = await fetch(`${env.apiUrl}/api/v1/cot/ingestions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ years }),
    });
    if (res.status !== 202) throw new Error(`ingestion refused: ${res.status} ${await res.text()}`);
    const { ingestion } = (await res.json()) as { ingestion: { id: string } };
    let run: { status: string; rows: { read: number; inserted: number; rejected: number } };
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      run = await (
        await fetch(`${env.apiUrl}/api/v1/cot/ingestions/${ingestion.id}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json();
      if (run.status !== 'running') break;
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    if (run.status !== 'succeeded') throw new Error(`ingestion ended ${run.status}`);

    // Baseline: the rows as stored, normalised, written back with one COPY into a table without keys.
    const db = env.deps.db;
    const client = (await db.client.acquireConnection()) as PoolClient;
    let baselineSeconds: number;
    let baselineRows: number;
    try {
      const chunks: Buffer[] = [];
      await pipeline(
        client.query(copyTo(`COPY (SELECT ${COLUMNS} FROM cot_reports) TO STDOUT`)),
        async function (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) chunks.push(chunk);
        },
      );
      await client.query(`CREATE TABLE cot_copy_baseline AS SELECT ${COLUMNS} FROM cot_reports WITH NO DATA`);
      const copyStarted = performance.now();
      await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY cot_copy_baseline FROM STDIN`)));
      baselineSeconds = (performance.now() - copyStarted) / 1000;
      baselineRows = Number((await client.query('SELECT count(*) FROM cot_copy_baseline')).rows[0].count);
    } finally {
      db.client.releaseConnection(client);
    }

    const parseRate = await parseOnlyRowsPerS(n);
    const indicators = Number((await db('cot_indicators').count<{ count: string }[]>('* as count'))[0].count);
    const ingestRate = run.rows.read / ingestSeconds;
    const copyRate = baselineRows / baselineSeconds;
    const result = {
      copies: n,
      rows_read: run.rows.read,
      rows_stored: baselineRows,
      rows_rejected: run.rows.rejected,
      indicator_rows: indicators,
      ingest_seconds: ingestSeconds,
      ingest_rows_per_s: ingestRate,
      baseline_copy_seconds: baselineSeconds,
      baseline_rows_per_s: copyRate,
      ratio: ingestRate / copyRate,
      goal: 0.5,
      parse_only_rows_per_s: parseRate,
      variants: { 'parsing alone from memory, no database (a ceiling for any ingestion)': parseRate / copyRate },
    };
    const file = writeResult('cot', result);
    console.log(
      `cot: ${run.rows.read} rows (×${n}) ingested end to end in ${ingestSeconds.toFixed(1)} s = ${ingestRate.toFixed(0)} rows/s (download, unzip, parse, stage, upsert, ${indicators} indicator rows); ` +
        `plain COPY of the ${baselineRows} normalised rows: ${copyRate.toFixed(0)} rows/s → ratio ${result.ratio.toFixed(2)} (goal ${result.goal}); ` +
        `parsing alone, in memory: ${parseRate.toFixed(0)} rows/s = ${(parseRate / copyRate).toFixed(2)} of the COPY rate (the ceiling) → ${file}`,
    );
    return result;
  } finally {
    await env.close();
    await cftc.close();
  }
}
