import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, releaseDb, type Knex } from '../db/knex.js';
import { ensureCotSchedule, defaultIngestion } from '../clients/cot.js';
import { reports } from '../lib/cot/reports.js';
import { COT_SCHEDULE_ID } from '../workflows/contracts/cot.js';
import { consolePage, hasChromium, launchChromium } from './browser.js';
import { FIXTURES, fixtures, linesOf, startCftc, unzipText, zipOf } from './cftc.js';
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
  // Quick retries (100 ms, 3 attempts) keep the failing-download test short.
  stack = await startStack({
    CFTC_BASE_URL: cftc.url,
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    COT_SCHEDULE: 'off',
    COT_RETRY_INITIAL_MS: '100',
    COT_RETRY_ATTEMPTS: '3',
  });
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
const unitOf = (run: any, type: string, subtype: string, year: number | null) =>
  run.units.find((u: any) => u.report_type === type && u.subtype === subtype && u.year === year);

/** Rows of a fixture file with named columns, parsed here independently of the loader. */
async function fixtureRows(file: string): Promise<Record<string, string>[]> {
  const raw = readFileSync(path.join(FIXTURES, file));
  const text = file.endsWith('.zip') ? await unzipText(raw) : raw.toString('utf8');
  return Papa.parse<Record<string, string>>(text, {
    header: true,
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim(),
  }).data;
}

describe('COT ingestion', () => {
  it('loads every fixture file; a second request finds the running one; unpublished files are noted, not failed', async () => {
    cftc.setWeekly(false);
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
    expect(unitOf(run, 'legacy', 'fo', 2017)).toMatchObject({ status: 'unavailable' });
    expect(unitOf(run, 'tff', 'fo', null)).toMatchObject({ status: 'unavailable' });
  });

  it('serves a screener, market list, groups and status from a cache; a run with a new week lets go of it', async () => {
    const screener = async (query = '') =>
      call(url(), 'GET', `/api/v1/cot/screener/tff/fo${query}`, { token: operator.token });
    const first = await screener('?sort=-leveraged_funds.index_52&limit=10');
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.json.report_date).toBe('2026-07-28');
    const indexes = first.json.data
      .map((r: any) => r.groups.find((g: any) => g.group === 'leveraged_funds').index_52)
      .filter((v: number | null) => v !== null);
    expect(indexes.length).toBeGreaterThan(0);
    expect(indexes).toEqual([...indexes].sort((a, b) => b - a));
    const again = await screener('?sort=name&limit=500');
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.json.total).toBe(again.json.data.length);
    for (const row of again.json.data) expect(row.groups.filter((g: any) => g.signal).length).toBe(row.signals);
    expect((await screener('?sort=managed_money.index_52')).status).toBe(400);

    const markets = await call(url(), 'GET', '/api/v1/cot/markets/tff/fo', { token: operator.token });
    expect(markets.json.data.find((m: any) => m.code === '099741')).toMatchObject({
      first_report: '2017-01-03',
      latest_report: '2026-07-28',
    });
    expect(
      (await call(url(), 'GET', '/api/v1/cot/markets/tff/fo', { token: operator.token })).headers.get('x-cache'),
    ).toBe('HIT');
    const groups = await call(url(), 'GET', '/api/v1/cot/groups/legacy', { token: operator.token });
    expect(groups.json.groups.map((g: any) => [g.id, g.role])).toEqual([
      ['noncommercial', 'speculative'],
      ['commercial', 'commercial'],
      ['nonreportable', 'small'],
    ]);

    // CFTC publishes the current week: the headerless weekly files bring the held-back newest report date.
    cftc.setWeekly(true);
    const run = await finished(await ingest({ years: [2026] }));
    expect(run.status).toBe('succeeded');
    const week = unitOf(run, 'tff', 'fo', null);
    expect(week).toMatchObject({
      status: 'loaded',
      data_from: '2026-08-04',
      data_through: '2026-08-04',
      rows_rejected: 0,
    });
    expect(week.rows_read).toBe(cftc.records('/dea/newcot/FinFutWk.txt'));
    const fresh = await screener('?sort=name&limit=500');
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.json.report_date).toBe('2026-08-04');

    const stored = await db('cot_reports')
      .where({ report_type: 'tff', subtype: 'fo' })
      .count<{ count: string }[]>('* as count');
    const expected = new Set<string>();
    for (const f of fixtures.filter((x) => x.type === 'tff' && x.subtype === 'fo')) {
      for (const row of await fixtureRows(f.file))
        expected.add(`${row.CFTC_Contract_Market_Code.trim()}|${row['Report_Date_as_YYYY-MM-DD'].trim()}`);
    }
    expect(Number(stored[0].count)).toBe(expected.size);

    const status = (await call(url(), 'GET', '/api/v1/cot/status', { token: operator.token })).json;
    expect(status.reports.find((r: any) => r.report_type === 'tff' && r.subtype === 'fo')).toMatchObject({
      latest_report: '2026-08-04',
      stale: true,
    });
    expect(status.last_run).toMatchObject({ id: run.id, status: 'succeeded' });
  });

  it('stores `.` as NULL, keeps codes as text, and keys markets on the code through renames', async () => {
    const row = (await fixtureRows('legacy_fo_2004_alexcolls-fx-oanda.csv')).find(
      (r) => r['Change in Open Interest (All)'].trim() === '.',
    )!;
    const code = row['CFTC Contract Market Code'].trim();
    const date = row['As of Date in Form YYYY-MM-DD'].trim();
    const market = (
      await call(url(), 'GET', `/api/v1/cot/markets/legacy/fo/${code}?weeks=200`, { token: operator.token })
    ).json;
    const week = market.weeks.find((w: any) => w.report_date === date);
    expect(week.open_interest_change).toBeNull();
    expect(week.groups.find((g: any) => g.group === 'noncommercial').long_change).toBeNull();
    expect(week.open_interest).toBe(Number(row['Open Interest (All)'].trim()));

    const sp = (await call(url(), 'GET', '/api/v1/cot/markets/tff/fo/13874a?weeks=2000', { token: operator.token }))
      .json;
    expect(sp.code).toBe('13874A');
    expect(sp.names.map((n: any) => n.name)).toEqual(
      expect.arrayContaining([
        'E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE',
        'E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE',
      ]),
    );
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
      index52 === null
        ? null
        : index52 >= 80
          ? role === 'commercial'
            ? 'BUY'
            : 'SELL'
          : index52 <= 20
            ? role === 'commercial'
              ? 'SELL'
              : 'BUY'
            : null;

    const cases = [
      // The multi-year TFF futures-only files give 156-report windows.
      {
        type: 'tff',
        code: '099741',
        group: 'leveraged_funds',
        role: 'speculative',
        date: 'Report_Date_as_YYYY-MM-DD',
        code_col: 'CFTC_Contract_Market_Code',
        oi: 'Open_Interest_All',
        long: 'Lev_Money_Positions_Long_All',
        short: 'Lev_Money_Positions_Short_All',
        longChg: 'Change_in_Lev_Money_Long_All',
        shortChg: 'Change_in_Lev_Money_Short_All',
      },
      {
        type: 'tff',
        code: '13874A',
        group: 'dealer',
        role: 'commercial',
        date: 'Report_Date_as_YYYY-MM-DD',
        code_col: 'CFTC_Contract_Market_Code',
        oi: 'Open_Interest_All',
        long: 'Dealer_Positions_Long_All',
        short: 'Dealer_Positions_Short_All',
        longChg: 'Change_in_Dealer_Long_All',
        shortChg: 'Change_in_Dealer_Short_All',
      },
      {
        type: 'legacy',
        code: '088691',
        group: 'commercial',
        role: 'commercial',
        date: 'As of Date in Form YYYY-MM-DD',
        code_col: 'CFTC Contract Market Code',
        oi: 'Open Interest (All)',
        long: 'Commercial Positions-Long (All)',
        short: 'Commercial Positions-Short (All)',
        longChg: 'Change in Commercial-Long (All)',
        shortChg: 'Change in Commercial-Short (All)',
      },
      {
        type: 'disagg',
        code: '067651',
        group: 'managed_money',
        role: 'speculative',
        date: 'Report_Date_as_YYYY-MM-DD',
        code_col: 'CFTC_Contract_Market_Code',
        oi: 'Open_Interest_All',
        long: 'M_Money_Positions_Long_All',
        short: 'M_Money_Positions_Short_All',
        longChg: 'Change_in_M_Money_Long_All',
        shortChg: 'Change_in_M_Money_Short_All',
      },
    ] as const;

    it.each(cases)('$type $code $group', async (c) => {
      const byDate = new Map<string, Record<string, string>>();
      for (const f of fixtures.filter((x) => x.type === c.type && x.subtype === 'fo')) {
        for (const row of await fixtureRows(f.file))
          if (row[c.code_col].trim() === c.code) byDate.set(row[c.date].trim(), row);
      }
      const dates = [...byDate.keys()].sort();
      const n = (row: Record<string, string>, column: string) =>
        row[column].trim() === '.' ? null : Number(row[column]);
      const nets = dates.map((d) => n(byDate.get(d)!, c.long)! - n(byDate.get(d)!, c.short)!);
      const pctOi = dates.map((d, i) => (100 * nets[i]) / n(byDate.get(d)!, c.oi)!);

      const market = (
        await call(url(), 'GET', `/api/v1/cot/markets/${c.type}/fo/${c.code}?weeks=2000`, { token: operator.token })
      ).json;
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

  it('a rerun stores nothing twice; a year read after the next one began is final, skipped unless forced', async () => {
    const count = async () => Number((await db('cot_reports').count<{ count: string }[]>('* as count'))[0].count);
    const indicators = async () =>
      Number((await db('cot_indicators').count<{ count: string }[]>('* as count'))[0].count);
    const before = [await count(), await indicators()];

    const years = [2017, 2018, 2019, 2020];
    const yearly = (run: any) =>
      run.units
        .filter((u: any) => u.year !== null)
        .sort((a: any, b: any) => a.year - b.year)
        .map((u: any) => [u.year, u.status, u.rows_read, u.rows_inserted + u.rows_updated]);
    // The first run read these years before any next year was stored: each is asked for again, conditionally.
    const recheck = await finished(await ingest({ report_types: ['tff'], subtypes: ['fo'], years }));
    expect(yearly(recheck)).toEqual(years.map((y) => [y, 'unchanged', 0, 0]));
    expect(cftc.statuses('/files/dea/history/fut_fin_txt_2017.zip').slice(-1)).toEqual([304]);
    // That re-check found each next year stored: the years are final now and not asked for again.
    const requests = cftc.statuses('/files/dea/history/fut_fin_txt_2017.zip').length;
    const plain = await finished(await ingest({ report_types: ['tff'], subtypes: ['fo'], years }));
    expect(yearly(plain)).toEqual(years.map((y) => [y, 'skipped', 0, 0]));
    expect(cftc.statuses('/files/dea/history/fut_fin_txt_2017.zip').length).toBe(requests);

    const forced = await finished(await ingest({ years: YEARS, force: true }));
    expect(forced.status).toBe('succeeded');
    const loaded = forced.units.filter((u: any) => u.status === 'loaded');
    expect(loaded.length).toBeGreaterThan(fixtures.length);
    for (const unit of loaded)
      expect([unit.rows_inserted, unit.rows_updated, unit.rows_unchanged], `${unit.report_type} ${unit.year}`).toEqual([
        0,
        0,
        unit.rows_read,
      ]);
    expect([await count(), await indicators()]).toEqual(before);
  });

  it('re-reads a year until it is final: the 31-December report loads without force, an unchanged file writes nothing', async () => {
    // deacot2018.zip before and after CFTC published the 31-December report (in January; after the 2018-19 shutdown,
    // months later): the last three 2004 reports of the legacy fixture under 2018's report dates.
    const zipPath = reports.legacy.yearlyZip.fo(2018);
    const fixture = 'legacy_fo_2004_alexcolls-fx-oanda.csv';
    const relabel = new Map([
      ['2004-12-14', '2018-12-18'],
      ['2004-12-21', '2018-12-24'],
      ['2004-12-28', '2018-12-31'],
    ]);
    const [header, ...records] = linesOf(readFileSync(path.join(FIXTURES, fixture), 'utf8'));
    const DATES = /^("(?:[^"]|"")*"\s*,)\s*\d{6}\s*,\s*(\d{4}-\d{2}-\d{2})\s*,/;
    const served = (...days: string[]) =>
      zipOf(
        'annual.txt',
        Buffer.from(
          header +
            records
              .filter((l) => days.includes(DATES.exec(l)?.[2] ?? ''))
              .map((l) =>
                l.replace(DATES, (_m, name: string, day: string) => {
                  const to = relabel.get(day)!;
                  return `${name}${to.slice(2).replaceAll('-', '')} ,${to},`;
                }),
              )
              .join(''),
        ),
      );
    const rows = await fixtureRows(fixture);
    const markets = (day: string) =>
      new Set(
        rows
          .filter((r) => r['As of Date in Form YYYY-MM-DD'].trim() === day)
          .map((r) => r['CFTC Contract Market Code'].trim()),
      ).size;
    const run2018 = async () => {
      const run = await finished(await ingest({ report_types: ['legacy'], subtypes: ['fo'], years: [2018] }));
      expect(run.status).toBe('succeeded');
      return unitOf(run, 'legacy', 'fo', 2018);
    };
    const stored2018 = async () =>
      (
        await db('cot_reports')
          .where({ report_type: 'legacy', subtype: 'fo' })
          .whereBetween('report_date', ['2018-01-01', '2018-12-31'])
          .select(db.raw('count(*)::int AS count'), db.raw('max(loaded_at) AS written'))
      )[0];
    try {
      // Run A: the file through 24 December.
      cftc.override(zipPath, await served('2004-12-14', '2004-12-21'));
      const a = await run2018();
      const throughDec24 = markets('2004-12-14') + markets('2004-12-21');
      expect(a).toMatchObject({
        status: 'loaded',
        data_through: '2018-12-24',
        rows_inserted: throughDec24,
        rows_updated: 0,
      });

      // Run B: CFTC has added the 31-December report; no next year is stored, so the year was not final.
      cftc.override(zipPath, await served('2004-12-14', '2004-12-21', '2004-12-28'));
      const b = await run2018();
      expect(b).toMatchObject({
        status: 'loaded',
        data_from: '2018-12-18',
        data_through: '2018-12-31',
        rows_inserted: markets('2004-12-28'),
        rows_updated: 0,
        rows_unchanged: throughDec24,
      });
      const [{ count: dec31 }] = await db('cot_reports')
        .where({ report_type: 'legacy', subtype: 'fo', report_date: '2018-12-31' })
        .select(db.raw('count(*)::int AS count'));
      expect(dec31).toBe(markets('2004-12-28'));

      // Run C: the same file. Asked for conditionally, it answers 304: nothing read, nothing written.
      const before = await stored2018();
      const unchanged = { status: 'unchanged', rows_read: 0, rows_inserted: 0, rows_updated: 0, rows_rejected: 0 };
      expect(await run2018()).toMatchObject({ ...unchanged, data_through: '2018-12-31' });
      expect(cftc.statuses(zipPath).slice(-1)).toEqual([304]);
      // A server without validators sends the same bytes again: their digest shows it unchanged, so it is not parsed.
      cftc.setValidators(false);
      expect(await run2018()).toMatchObject(unchanged);
      expect(cftc.statuses(zipPath).slice(-1)).toEqual([200]);
      expect(await stored2018()).toEqual(before);
    } finally {
      cftc.setValidators(true);
      cftc.restore();
    }
  });

  it('a corrupt zip or a truncated file fails its unit clearly and loses nothing already stored', async () => {
    const rowsOf = async (year: number) =>
      Number(
        (
          await db('cot_reports')
            .where({ report_type: 'tff', subtype: 'fo' })
            .whereRaw('extract(year from report_date) = ?', [year])
            .count<{ count: string }[]>('* as count')
        )[0].count,
      );
    const before = [await rowsOf(2019), await rowsOf(2023)];

    const text = readFileSync(path.join(FIXTURES, 'tff_fo_2019_storrealba09-fx_fundamentals.csv'));
    cftc.override(
      '/files/dea/history/fut_fin_txt_2019.zip',
      await zipOf('FinFutYY.txt', text.subarray(0, Math.floor(text.length * 0.6))),
    );
    const original = readFileSync(path.join(FIXTURES, 'tff_fo_2023_cloorem2-fx-trader.fut_fin_txt_2023.zip'));
    const corrupt = Buffer.from(original);
    for (let i = 20_000; i < 20_064; i++) corrupt[i] ^= 0xff;
    cftc.override('/files/dea/history/fut_fin_txt_2023.zip', corrupt);
    cftc.override('/files/dea/history/fut_fin_txt_2021.zip', original.subarray(0, original.length - 100));
    try {
      const run = await finished(
        await ingest({ report_types: ['tff'], subtypes: ['fo'], years: [2019, 2021, 2023], force: true }),
      );
      expect(run.status).toBe('partial');
      expect(unitOf(run, 'tff', 'fo', 2019)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/truncated/),
      });
      expect(unitOf(run, 'tff', 'fo', 2023)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/corrupt|invalid|zip/i),
      });
      expect(unitOf(run, 'tff', 'fo', 2021)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/not a readable zip/),
      });
      expect(unitOf(run, 'tff', 'fo', null).status).toBe('loaded');
      expect([await rowsOf(2019), await rowsOf(2023)]).toEqual(before);
    } finally {
      cftc.restore();
    }
  });

  it('a failing download is retried, then recorded against its unit', async () => {
    cftc.override('/dea/newcot/FinComWk.txt', 503);
    try {
      const run = await finished(await ingest({ report_types: ['tff'], subtypes: ['co'], years: [2023] }));
      expect(run.status).toBe('partial');
      expect(unitOf(run, 'tff', 'co', null)).toMatchObject({ status: 'failed', error: expect.stringMatching(/503/) });
    } finally {
      cftc.restore();
    }
  }, 120_000);

  it('keeps ingestion to admins and the data to signed-in callers', async () => {
    expect((await call(url(), 'POST', '/api/v1/cot/ingestions', { token: operator.token, body: {} })).status).toBe(403);
    expect((await call(url(), 'GET', '/api/v1/cot/screener/tff/fo')).status).toBe(401);
    const bad = await call(url(), 'POST', '/api/v1/cot/ingestions', {
      token: admin.token,
      body: { report_types: ['weekly'], years: [1900] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('validation_error');
    expect((await call(url(), 'GET', '/api/v1/cot/markets/tff/xx', { token: operator.token })).status).toBe(400);
    expect([400, 404]).toContain(
      (await call(url(), 'GET', '/api/v1/cot/markets/tff/fo/..%2F..%2Fetc', { token: operator.token })).status,
    );
  });

  it('rejects a bad record with its reason and position while the rest of its file loads', async () => {
    const zipPath = reports.tff.yearlyZip.fo(2019);
    const text = readFileSync(path.join(FIXTURES, 'tff_fo_2019_storrealba09-fx_fundamentals.csv'), 'utf8');
    const [header, first, second, ...rest] = linesOf(text);
    const badDate = first.replace(/,2019-\d\d-\d\d,/, ',2019-02-30,');
    const badNumber = second.replace(/^("[^"]*",[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,)\s*\d+/, '$1 12x');
    cftc.override(zipPath, await zipOf('FinFutYY.txt', Buffer.from([header, badDate, badNumber, ...rest].join(''))));
    try {
      const run = await finished(await ingest({ report_types: ['tff'], subtypes: ['fo'], years: [2019], force: true }));
      expect(run.status).toBe('succeeded');
      expect(unitOf(run, 'tff', 'fo', 2019)).toMatchObject({
        status: 'loaded',
        rows_read: rest.length + 2,
        rows_rejected: 2,
        // Stored by the first run: the same values again.
        rows_unchanged: rest.length,
        rejections: {
          by_reason: { 'invalid report date "2019-02-30"': 1, 'open interest is not a whole number: "12x"': 1 },
          first: [
            { record: 2, reason: 'invalid report date "2019-02-30"' },
            { record: 3, reason: 'open interest is not a whole number: "12x"' },
          ],
        },
      });
    } finally {
      cftc.restore();
    }
  });

  it('a rerun that changes nothing rewrites no indicator; a new week writes the indicators of that week only', async () => {
    /** Each stored report's indicators (tff futures) and the transaction that wrote them. */
    const written = async () =>
      new Map(
        (
          await db('cot_indicators')
            .where({ report_type: 'tff', subtype: 'fo' })
            .select('code', db.raw('report_date::text AS day'), db.raw('xmin::text AS xmin'))
        ).map((r: { code: string; day: string; xmin: string }) => [`${r.code} ${r.day}`, r.xmin]),
      );
    const before = await written();
    expect(before.size).toBeGreaterThan(1000);
    const rerun = await finished(await ingest({ report_types: ['tff'], subtypes: ['fo'], years: YEARS, force: true }));
    expect(rerun.status).toBe('succeeded');
    expect(await written()).toEqual(before);

    // CFTC publishes the next week: the current-week file's records again, a week later.
    const weekPath = reports.tff.weeklyFile.fo;
    const week = Buffer.from(await (await fetch(`${cftc.url}${weekPath}`)).arrayBuffer()).toString();
    const records = linesOf(week).length;
    cftc.override(weekPath, Buffer.from(week.replaceAll(',260804,2026-08-04,', ',260811,2026-08-11,')));
    try {
      const next = await finished(await ingest({ report_types: ['tff'], subtypes: ['fo'], years: [2026] }));
      expect(unitOf(next, 'tff', 'fo', null)).toMatchObject({
        status: 'loaded',
        data_from: '2026-08-11',
        rows_inserted: records,
      });
      const after = await written();
      const rewritten = [...after].filter(([key, xmin]) => before.get(key) !== xmin).map(([key]) => key);
      expect(rewritten).toHaveLength(records);
      expect(new Set(rewritten.map((key) => key.split(' ')[1]))).toEqual(new Set(['2026-08-11']));
      expect(after.size).toBe(before.size + records);
    } finally {
      cftc.restore();
    }
  });
});

describe('weekly schedule', () => {
  it('is created Friday 23:00 Europe/Kyiv by default, follows the configuration, and goes when turned off', async () => {
    const client = stack.api.deps.temporal.client;
    const config = testConfig({ ...stack.settings, COT_SCHEDULE: '0 23 * * 5' });
    await ensureCotSchedule(client, config);
    const handle = client.schedule.getHandle(COT_SCHEDULE_ID);
    try {
      const described = await handle.describe();
      expect(described.spec.timezone).toBe('Europe/Kyiv');
      const next = described.info.nextActionTimes[0];
      const kyiv = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Kyiv',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(next);
      expect(kyiv).toBe('Fri 23:00');
      expect(described.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'cotScheduledIngestionWorkflow',
        taskQueue: config.temporal.taskQueue,
      });

      await ensureCotSchedule(
        client,
        testConfig({ ...stack.settings, COT_SCHEDULE: '30 6 * * 1', COT_TIMEZONE: 'UTC' }),
      );
      expect((await handle.describe()).info.nextActionTimes[0].toISOString()).toMatch(/T06:30:00/);
    } finally {
      await ensureCotSchedule(client, testConfig({ ...stack.settings, COT_SCHEDULE: 'off' }));
    }
    await expect(handle.describe()).rejects.toThrow();
  });

  it('a scheduled start finds a running ingestion instead of starting a second one', async () => {
    const client = stack.api.deps.temporal.client;
    const id = await ingest({ years: YEARS, force: true });
    const result = await client.workflow.execute('cotScheduledIngestionWorkflow', {
      taskQueue: stack.settings.TEMPORAL_TASK_QUEUE,
      workflowId: `cot-scheduled-test-${Date.now()}`,
      args: [{ ...defaultIngestion(testConfig(stack.settings)), reportTypes: ['tff'] }],
    });
    expect(result).toBe('an ingestion was already running');
    expect((await finished(id)).status).toBe('succeeded');
  });
});

describe.skipIf(!hasChromium)('COT in the console', () => {
  it('an admin runs an ingestion and watches it finish, reads the screener with its crowded signals and opens a market', async () => {
    const browser = await launchChromium();
    try {
      const page = await consolePage(browser, url(), admin);
      await page.click('nav >> text=COT data');
      // The screener pages its markets (test/cot.browser.test.ts tests search, filter, paging and sorting).
      await expect.poll(() => page.locator('[data-testid=screener-row]').count(), { timeout: 30_000 }).toBe(25);
      // Sorting by a group's index puts the most crowded first.
      await page.click('th >> text=Leveraged funds');
      await page.click('th >> text=Leveraged funds');
      const top = page.locator('[data-testid=screener-row]').first();
      await expect.poll(() => top.locator('[data-testid=signal]').count()).toBeGreaterThan(0);
      expect(await top.getAttribute('class')).toContain('crowded');

      await page.click('[data-testid=tab-runs]');
      await page.locator('[data-testid=ingestion-run]').first().waitFor();
      const runs = await page.locator('[data-testid=ingestion-run]').count();
      await page.click('text=Run ingestion now');
      await expect.poll(() => page.locator('[data-testid=ingestion-run]').count()).toBe(Math.min(runs + 1, 5));
      const newest = page.locator('[data-testid=ingestion-run]').first();
      await expect
        .poll(() => newest.locator('[data-testid=run-status]').getAttribute('data-status'), { timeout: 120_000 })
        .toBe('succeeded');
      expect(await newest.locator('[data-testid=run-progress]').getAttribute('aria-valuenow')).toBe('100');

      await page.click('[data-testid=tab-screener]');
      await page.fill('input[name=search]', '099741');
      await page.click('[data-testid=screener-row] >> text=EURO FX - CHICAGO MERCANTILE EXCHANGE');
      await expect.poll(() => page.textContent('main h1')).toContain('EURO FX');
      expect(await page.textContent('[data-testid=market-code]')).toContain('099741');
      for (const chart of ['net-chart', 'index-chart']) {
        const box = await page.locator(`[data-testid=${chart}] canvas`).boundingBox();
        expect(box!.height).toBeGreaterThan(200);
      }
      expect(await page.locator('[data-testid=latest-groups] tbody tr').count()).toBe(5);
      mkdirSync('test/artifacts', { recursive: true });
      await page.screenshot({ path: 'test/artifacts/cot-market.png', fullPage: true });
    } finally {
      await browser.close();
    }
  }, 180_000);
});
