/**
 * Streams one CFTC COT text file (yearly with a header, current-week without, or the Socrata CSV
 * export) into normalised rows. A file whose shape is wrong — a missing column, a record with the
 * wrong number of fields, as a truncated file has — fails as a whole (CotFormatError); a record
 * whose values are wrong is rejected with a reason and the rest goes on.
 */
import type { Readable } from 'node:stream';
import Papa from 'papaparse';
import { GROUP_KEYS, normaliseHeader, reports, type Column, type ReportType } from './reports.js';

export class CotFormatError extends Error {
  readonly code = 'COT_FORMAT';
}

export interface CotRow {
  /** The record's position in the file (the header is record 1). */
  record: number;
  code: string;
  /** YYYY-MM-DD */
  reportDate: string;
  market: string;
  openInterest: number;
  openInterestChange: number | null;
  /** g1..g5 × (long, short, spread, long_chg, short_chg, spread_chg); null where CFTC has no value (`.`) or the group has no such column. */
  groups: (number | null)[];
}

export interface Rejection {
  record: number;
  reason: string;
}

type Value = string | undefined;
/** Reads one column of a record; `undefined` for groups and columns the report type does not have. */
type Reader = (record: string[]) => Value;
const absent: Reader = () => undefined;

const INTEGER = /^-?\d+$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** The Socrata export writes `01/03/2023 12:00:00 AM`. */
const US_DATE = /^(\d{2})\/(\d{2})\/(\d{4})(?: .*)?$/;

class RejectedValue extends Error {}

function integer(raw: Value, what: string): number | null {
  if (raw === undefined) return null;
  const value = raw.trim();
  if (value === '.' || value === '') return null;
  const number = Number(value);
  if (!INTEGER.test(value) || !Number.isSafeInteger(number))
    throw new RejectedValue(`${what} is not a whole number: "${value.slice(0, 40)}"`);
  return number;
}

export function reportDate(raw: string): string | null {
  const value = raw.trim();
  const iso = ISO_DATE.exec(value);
  const us = iso ? null : US_DATE.exec(value);
  const [y, m, d] = iso ? [iso[1], iso[2], iso[3]] : us ? [us[3], us[1], us[2]] : [];
  if (!y) return null;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  // Date.UTC rolls 2023-02-30 over into March: only a date that survives the round trip is real.
  const normalised = date.toISOString().slice(0, 10);
  return normalised === `${y}-${m}-${d}` ? normalised : null;
}

/** Where each needed column sits: by header name when the file has one, else by CFTC's layout. */
function readers(type: ReportType, header: string[] | null) {
  const def = reports[type];
  const names = header?.map(normaliseHeader);
  const reader = (column: Column | null): Reader => {
    if (!column) return absent;
    const at = names ? names.indexOf(column.name) : column.at;
    if (at < 0) throw new CotFormatError(`column "${column.name}" is missing from the ${def.label} file header`);
    return (record) => record[at];
  };
  const groupReaders = GROUP_KEYS.flatMap((key) => {
    const g = def.groups.find((group) => group.key === key);
    const columns = g
      ? [g.long, g.short, g.spread, g.longChange, g.shortChange, g.spreadChange]
      : Array<null>(6).fill(null);
    return columns.map((column) => ({ name: column?.name ?? '', read: reader(column) }));
  });
  return {
    market: reader(def.market),
    reportDate: reader(def.reportDate),
    code: reader(def.code),
    openInterest: reader(def.openInterest),
    openInterestChange: reader(def.openInterestChange),
    groups: groupReaders,
  };
}

/** Every data record of the file in order: a normalised row, or why it was rejected. */
export async function* parseCotFile(input: Readable, type: ReportType): AsyncGenerator<CotRow | Rejection> {
  const def = reports[type];
  const records = input.pipe(Papa.parse(Papa.NODE_STREAM_INPUT, { skipEmptyLines: 'greedy' }));
  input.once('error', (error) => records.destroy(error));
  let read: ReturnType<typeof readers> | undefined;
  let width = 0;
  let position = 0;
  for await (const record of records as AsyncIterable<string[]>) {
    position++;
    if (!read) {
      const isHeader = record.some((field) => normaliseHeader(field) === def.code.name);
      width = isHeader ? record.length : def.width;
      read = readers(type, isHeader ? record : null);
      if (isHeader) continue;
    }
    if (record.length !== width) {
      throw new CotFormatError(
        `record ${position} has ${record.length} fields, expected ${width}: the file is truncated or not a ${def.label} file`,
      );
    }
    try {
      const code = read.code(record)?.trim() ?? '';
      if (!code) throw new RejectedValue('no contract market code');
      const date = reportDate(read.reportDate(record) ?? '');
      if (!date) throw new RejectedValue(`invalid report date "${read.reportDate(record)?.trim().slice(0, 40)}"`);
      const openInterest = integer(read.openInterest(record), 'open interest');
      if (openInterest === null || openInterest < 0) throw new RejectedValue('open interest is missing or negative');
      yield {
        record: position,
        code,
        reportDate: date,
        // Some market names carry double spaces; only the padding around them is noise.
        market: (read.market(record) ?? '').trim(),
        openInterest,
        openInterestChange: integer(read.openInterestChange(record), 'change in open interest'),
        groups: read.groups.map((column) => integer(column.read(record), column.name)),
      };
    } catch (error) {
      if (!(error instanceof RejectedValue)) throw error;
      yield { record: position, reason: error.message };
    }
  }
  if (!read) throw new CotFormatError('the file is empty');
}
