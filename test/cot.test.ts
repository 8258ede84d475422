import { readFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { ensureCotSchedule } from '../lib/cot/schedule.js';
import { reports } from '../lib/cot/reports.js';
import { COT_SCHEDULE_ID } from '../workflows/cot.js';
import { FIXTURES, fixtures, startCftc, unzipText, zipOf } from './cftc.js';
import { call, signIn, startStack, testConfig } from './helpers.js';

let stack: Awaited<ReturnType<typeof startStack>>;
let cftc: Awaited<ReturnType<typeof startCftc>>;
let admin: Awaited<ReturnType<typeof signIn>>;
let operator: Awaited<ReturnType<typeof signIn>>;
let db: Knex;
const url = () => stack.api.url;

/** Every year a fixture exists for; the stand-in answers 404 for the rest, as CFTC does for unpublished years. */
const YEARS = [...new Set(fixtures.map((f) => f.year))].sort();

beforeAll(async () => {
  cftc = await startCftc();
  stack = await startStack({ CFTC_BASE_URL: cftc.url, OUTBOUND_ALLOWLIST: '127.0.0.1/32', COT_SCHEDULE: 'off' });
  admin = await signIn(url(), 'admin');
  operator = await signIn(url(), 'operator');
  db = openDb(process.env.DATABASE_URL!);
});
afterAll(async () => {
  await stack?.close();
  await cftc?.close();
  if (db) await releaseDb(db);
});

async function ingest(body: Record<string, unknown>) {
  const res = await call(url(), 'POST', '/api/v1/cot/ingestions', { token: admin.token, body });
  expect(res.status, res.text).toBe(202);
  return res.json.ingestion.id as string;
}
async function finished(id: string) {
  let run: any;
  await expect
    .poll(
      async () => {
        run = (await call(url(), 'GET', `/api/v1/cot/ingestions/${id}`, { token: operator.token })).json;
        return run.status;
      },
      { timeout: 180_000, interval: 500 },
    )
    .not.toBe('running');
  return run;
}
const unitOf = (run: any, type: string, subtype: string, year: number | null) => run.units.find((u: any) => u.report_type === type && u.subtype === subtype && u.year === year);

/** Rows of a fixture file with named columns, parsed here independently of the loader. */
async function fixtureRows(file: string): Promise<Record<string, string>[]> {
  const raw = readFileSync(path.join(FIXTURES, file));
  const text = file.endsWith('.zip') ? await unzipText(raw) : raw.toString('utf8');
  return Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: 'greedy', transformHeader: (h) => h.trim() }).data;
}

describe('COT ingestion', () => {
  it('loads every fixture file: yearly zips, then the headerless current-week file; a second request finds the running one', async () => {
    const id = await ingest({ years: YEARS });
    const again = await call(url(), 'POST', '/api/v1/cot/ingestions', { token: admin.token, body: { years: [2020] } });
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ started: false, ingestion: { id } });

    const run = await finished(id);
    expect(run.status, JSON.stringify(run.units.filter((u: any) => u.status === 'failed'))).toBe('succeeded');
    expect(run.units_done).toBe(run.units_total);
    for (const f of fixtures) {
      const unit = unitOf(run, f.type, f.subtype, f.year);
      expect(unit.status, f.file).toBe('loaded');
      expect(unit.rows_read, f.file).toBe(cftc.records(reports[f.type].yearlyZip[f.subtype](f.year)));
      expect(unit.rows_rejected, f.file).toBe(0);
    }
    const tffWeek = unitOf(run, 'tff', 'fo', null);
    expect(tffWeek).toMatchObject({ status: 'loaded', data_from: '2026-08-04', data_through: '2026-08-04' });
    expect(tffWeek.rows_read).toBe(cftc.records('/dea/newcot/FinFutWk.txt'));
    expect(unitOf(run, 'legacy', 'fo', 2017)).toMatchObject({ status: 'unavailable' });

    const stored = await db('cot_reports').where({ report_type: 'tff', subtype: 'fo' }).count<{ count: string }[]>('* as count');
    const expected = new Set<string>();
    for (const f of fixtures.filter((x) => x.type === 'tff' && x.subtype === 'fo')) {
      for (const row of await fixtureRows(f.file)) expected.add(`${row.CFTC_Contract_Market_Code.trim()}|${row['Report_Date_as_YYYY-MM-DD'].trim()}`);
    }
    expect(Number(stored[0].count)).toBe(expected.size);
  });

  it('stores `.` as NULL, keeps codes as text, and keys markets on the code through renames', async () => {
    const row = (await fixtureRows('legacy_fo_2004_alexcolls-fx-oanda.csv')).find((r) => r['Change in Open Interest (All)'].trim() === '.')!;
    const code = row['CFTC Contract Market Code'].trim();
    const date = row['As of Date in Form YYYY-MM-DD'].trim();
    const market = (await call(url(), 'GET', `/api/v1/cot/markets/legacy/fo/${code}?weeks=200`, { token: operator.token })).json;
    const week = market.weeks.find((w: any) => w.report_date === date);
    expect(week.open_interest_change).toBeNull();
    expect(week.groups.find((g: any) => g.group === 'noncommercial').long_change).toBeNull();
    expect(week.open_interest).toBe(Number(row['Open Interest (All)'].trim()));

    const sp = (await call(url(), 'GET', '/api/v1/cot/markets/tff/fo/13874a?weeks=2000', { token: operator.token })).json;
    expect(sp.code).toBe('13874A');
    expect(sp.names.map((n: any) => n.name)).toEqual(expect.arrayContaining(['E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE', 'E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE']));
    expect(sp.names.find((n: any) => n.name.startsWith('E-MINI S&P 500 STOCK INDEX')).through).toBe('2022-02-01');
    expect(new Set(sp.weeks.map((w: any) => w.report_date)).size).toBe(sp.weeks.length);
    expect((await call(url(), 'GET', '/api/v1/cot/markets/tff/fo/999999', { token: operator.token })).status).toBe(404);
  });

  describe('indicators equal values computed here from the raw columns', () => {
    /** The COT Index of the last `n` values (oldest first), as the issue defines it. */
    const cotIndex = (values: number[], n: number) => {
      if (values.length < n) return null;
      const window = values.slice(-n);
      const [min, max] = [Math.min(...window), Math.max(...window)];
      return max === min ? 50 : (100 * (values[values.length - 1] - min)) / (max - min);
    };
    const signal = (role: 'commercial' | 'speculative', index52: number | null) =>
      index52 === null ? null : index52 >= 80 ? (role === 'commercial' ? 'BUY' : 'SELL') : index52 <= 20 ? (role === 'commercial' ? 'SELL' : 'BUY') : null;

    const cases = [
      // The multi-year TFF futures-only files give 156-report windows.
      { type: 'tff', code: '099741', group: 'leveraged_funds', role: 'speculative', date: 'Report_Date_as_YYYY-MM-DD', code_col: 'CFTC_Contract_Market_Code', oi: 'Open_Interest_All', long: 'Lev_Money_Positions_Long_All', short: 'Lev_Money_Positions_Short_All', longChg: 'Change_in_Lev_Money_Long_All', shortChg: 'Change_in_Lev_Money_Short_All' },
      { type: 'tff', code: '13874A', group: 'dealer', role: 'commercial', date: 'Report_Date_as_YYYY-MM-DD', code_col: 'CFTC_Contract_Market_Code', oi: 'Open_Interest_All', long: 'Dealer_Positions_Long_All', short: 'Dealer_Positions_Short_All', longChg: 'Change_in_Dealer_Long_All', shortChg: 'Change_in_Dealer_Short_All' },
      { type: 'legacy', code: '088691', group: 'commercial', role: 'commercial', date: 'As of Date in Form YYYY-MM-DD', code_col: 'CFTC Contract Market Code', oi: 'Open Interest (All)', long: 'Commercial Positions-Long (All)', short: 'Commercial Positions-Short (All)', longChg: 'Change in Commercial-Long (All)', shortChg: 'Change in Commercial-Short (All)' },
      { type: 'disagg', code: '067651', group: 'managed_money', role: 'speculative', date: 'Report_Date_as_YYYY-MM-DD', code_col: 'CFTC_Contract_Market_Code', oi: 'Open_Interest_All', long: 'M_Money_Positions_Long_All', short: 'M_Money_Positions_Short_All', longChg: 'Change_in_M_Money_Long_All', shortChg: 'Change_in_M_Money_Short_All' },
    ] as const;

    it.each(cases)('$type $code $group', async (c) => {
      const byDate = new Map<string, Record<string, string>>();
      for (const f of fixtures.filter((x) => x.type === c.type && x.subtype === 'fo')) {
        for (const row of await fixtureRows(f.file)) if (row[c.code_col].trim() === c.code) byDate.set(row[c.date].trim(), row);
      }
      const dates = [...byDate.keys()].sort();
      const n = (row: Record<string, string>, column: string) => (row[column].trim() === '.' ? null : Number(row[column]));
      const nets = dates.map((d) => n(byDate.get(d)!, c.long)! - n(byDate.get(d)!, c.short)!);
      const pctOi = dates.map((d, i) => (100 * nets[i]) / n(byDate.get(d)!, c.oi)!);

      const market = (await call(url(), 'GET', `/api/v1/cot/markets/${c.type}/fo/${c.code}?weeks=2000`, { token: operator.token })).json;
      expect(market.weeks.map((w: any) => w.report_date).reverse()).toEqual(dates);
      let windows156 = 0;
      dates.forEach((date, i) => {
        const got = market.weeks.find((w: any) => w.report_date === date).groups.find((g: any) => g.group === c.group);
        const row = byDate.get(date)!;
        const upTo = nets.slice(0, i + 1);
        const longChg = n(row, c.longChg);
        const shortChg = n(row, c.shortChg);
        expect(got.net, date).toBe(nets[i]);
        expect(got.net_change, date).toBe(longChg === null || shortChg === null ? null : longChg - shortChg);
        expect(got.pct_oi, date).toBeCloseTo(pctOi[i], 9);
        for (const w of [13, 52, 156] as const) {
          const want = cotIndex(upTo, w);
          if (want === null) expect(got[`index_${w}`], `${date} ${w}`).toBeNull();
          else expect(got[`index_${w}`], `${date} ${w}`).toBeCloseTo(want, 9);
        }
        const wci = cotIndex(pctOi.slice(0, i + 1), 26);
        if (wci === null) expect(got.wci_26).toBeNull();
        else expect(got.wci_26, date).toBeCloseTo(wci, 9);
        expect(got.signal, date).toBe(signal(c.role, cotIndex(upTo, 52)));
        if (got.index_156 !== null) windows156++;
      });
      if (c.type === 'tff') expect(windows156).toBeGreaterThan(100);
    });
  });
});
