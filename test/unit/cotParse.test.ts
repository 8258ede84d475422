import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CotFormatError, parseCotFile, reportDate, type CotRow, type Rejection } from '../../lib/cot/parse.js';
import type { ReportType } from '../../lib/cot/reports.js';
import { FIXTURES, linesOf, unzipText } from '../cftc.js';

async function parse(text: string, type: ReportType) {
  const rows: CotRow[] = [];
  const rejected: Rejection[] = [];
  for await (const item of parseCotFile(Readable.from([Buffer.from(text)]), type)) {
    if ('reason' in item) rejected.push(item);
    else rows.push(item);
  }
  return { rows, rejected };
}
const fixtureText = async (file: string) => {
  const raw = readFileSync(path.join(FIXTURES, file));
  return file.endsWith('.zip') ? unzipText(raw) : raw.toString('utf8');
};
const typeOf = (file: string) => file.split('_')[0] as ReportType;

describe('parsing the real CFTC files', () => {
  const files = readdirSync(FIXTURES).filter((f) => /\.(csv|zip)$/.test(f));

  it.each(files)('%s: one row per data line, none rejected', async (file) => {
    const text = await fixtureText(file);
    const { rows, rejected } = await parse(text, typeOf(file));
    expect(rejected).toEqual([]);
    expect(rows).toHaveLength(linesOf(text).length - 1);
  });

  it('trims padded fields, keeps codes as text and stores `.` as null', async () => {
    const { rows } = await parse(await fixtureText('legacy_fo_2004_alexcolls-fx-oanda.csv'), 'legacy');
    const wheat = rows[0];
    expect(wheat).toMatchObject({
      code: '001602',
      reportDate: '2004-12-28',
      market: 'WHEAT - CHICAGO BOARD OF TRADE',
      openInterest: 183042,
      openInterestChange: -1659,
    });
    // Non-commercial long, short, spreading, then their changes; the commercial group has no spread.
    expect(wheat.groups.slice(0, 6)).toEqual([37754, 67376, 13609, -532, -1321, -453]);
    expect(wheat.groups.slice(6, 12)).toEqual([106574, 80526, null, 1353, 794, null]);
    expect(wheat.groups.slice(18)).toEqual(Array(12).fill(null));
    const newContract = rows.find((r) => r.code === '005603' && r.reportDate === '2004-08-31')!;
    expect(newContract.openInterestChange).toBeNull();
    expect(newContract.groups[3]).toBeNull();

    const { rows: tff } = await parse(await fixtureText('tff_fo_2022_LIQiushui2427-Awesome-AI-Bot.csv'), 'tff');
    expect(new Set(tff.filter((r) => r.code === '13874A').map((r) => r.market))).toEqual(
      new Set([
        'E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE',
        'E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE',
      ]),
    );
    expect(tff.some((r) => r.code === '13874+')).toBe(true);
  });

  it('reads the Socrata export by column name and its US dates', async () => {
    const { rows } = await parse(
      await fixtureText('disagg_co_2023_socrata-export_OpenDataDSL-documentation.csv'),
      'disagg',
    );
    expect(rows.map((r) => r.reportDate)).toContain('2023-01-03');
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(['001602']));
  });

  it('reads a headerless current-week file by CFTC layout, the same as with a header', async () => {
    const [header, ...records] = linesOf(await fixtureText('tff_fo_2019_storrealba09-fx_fundamentals.csv'));
    const week = records.filter((l) => l.includes(',2019-12-31,'));
    const withHeader = await parse(header + week.join(''), 'tff');
    const headerless = await parse(week.join(''), 'tff');
    expect(headerless.rows.length).toBeGreaterThan(40);
    expect(headerless.rows.map(({ record, ...r }) => ({ ...r, record: record + 1 }))).toEqual(withHeader.rows);
  });

  it('accepts LF and CRLF alike', async () => {
    const text = await fixtureText('legacy_fo_2025_dw-dw-dt-yen-flow-analytics.csv');
    expect(text).toContain('\r\n');
    const crlf = await parse(text, 'legacy');
    const lf = await parse(text.replaceAll('\r\n', '\n'), 'legacy');
    expect(lf.rows).toEqual(crlf.rows);
  });
});

describe('bad files and bad records', () => {
  const tff = () => fixtureText('tff_fo_2017_storrealba09-fx_fundamentals.csv');

  it('fails a truncated file as a whole', async () => {
    const text = await tff();
    await expect(parse(text.slice(0, Math.floor(text.length / 2)), 'tff')).rejects.toThrow(CotFormatError);
    await expect(parse(text.slice(0, Math.floor(text.length / 2)), 'tff')).rejects.toThrow(/truncated/);
  });

  it('fails a file of another report type, an empty file and a header without the needed columns', async () => {
    await expect(parse(await tff(), 'legacy')).rejects.toThrow(/column "noncommercial_positions_long_all" is missing/);
    await expect(parse('', 'tff')).rejects.toThrow(/empty/);
  });

  it('rejects a record with a bad value, with its reason, and keeps the others', async () => {
    const [header, first, second, ...rest] = linesOf(await tff());
    const badDate = first.replace(/,2017-\d\d-\d\d,/, ',2017-02-30,');
    const badNumber = second.replace(/^("[^"]*",[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,)\s*\d+/, '$1 12x');
    const { rows, rejected } = await parse([header, badDate, badNumber, ...rest.slice(0, 5)].join(''), 'tff');
    expect(rows).toHaveLength(5);
    expect(rejected).toEqual([
      { record: 2, reason: 'invalid report date "2017-02-30"' },
      { record: 3, reason: 'open interest is not a whole number: "12x"' },
    ]);
  });

  it('reads a file the same whatever pieces it arrives in: a record broken by a stray line break fails it', async () => {
    const [header, first, second, third, ...rest] = linesOf(await tff());
    const broken = second.replace(/,(\s*\d+),(\s*\d+),(\s*\d+),/, ',$1,$2\n,$3,');
    const bytes = Buffer.from([header, first, broken, third, ...rest.slice(0, 5)].join(''));
    const read = async (pieces: Buffer[]) => {
      const rows: number[] = [];
      try {
        for await (const item of parseCotFile(Readable.from(pieces), 'tff')) rows.push(item.record);
        return { rows, error: null };
      } catch (error) {
        return { rows, error: (error as Error).message };
      }
    };
    const whole = await read([bytes]);
    expect(whole.error).toMatch(/^record 3 has \d+ fields, expected 87: the file is truncated/);
    for (const size of [1, 7, 1000]) {
      const pieces = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
        bytes.subarray(i * size, (i + 1) * size),
      );
      expect(await read(pieces)).toEqual(whole);
    }
  });

  it('knows real dates from impossible ones', () => {
    expect(reportDate(' 2018-12-31 ')).toBe('2018-12-31');
    expect(reportDate('01/03/2023 12:00:00 AM')).toBe('2023-01-03');
    expect(reportDate('2023-02-29')).toBeNull();
    expect(reportDate('230103')).toBeNull();
  });
});
