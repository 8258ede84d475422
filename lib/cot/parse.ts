/**
 * Streams one CFTC COT text file (yearly with a header, current-week without, or the Socrata CSV
 * export) into normalised rows. A file whose shape is wrong — a missing column, a record with the
 * wrong number of fields, as a truncated file has — fails as a whole (CotFormatError); a record
 * whose values are wrong is rejected with a reason and the rest goes on.
 *
 * The CSV is split by a scanner of its own, not a general CSV library: a report needs about 36 of the 87
 * to 194 columns a file has, and the scanner only notes where each field lies, reading the numbers it
 * needs in place. papaparse (a string per field, every field) cost more than all the database work. The
 * scanner reads records as papaparse does (quotes, padding, blank lines), and the same whatever pieces
 * the bytes arrive in.
 */
import type { Readable } from 'node:stream';
import { GROUP_KEYS, normaliseHeader, reports, type ReportType } from './reports.js';

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

const INTEGER = /^-?\d+$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** The Socrata export writes `01/03/2023 12:00:00 AM`. */
const US_DATE = /^(\d{2})\/(\d{2})\/(\d{4})(?: .*)?$/;

class RejectedValue extends Error {}

function integer(raw: string, what: string): number | null {
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

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const isPadding = (c: number) => c === SPACE || c === TAB || c === CR;

/**
 * One CSV record as where its fields lie in `bytes` (UTF-8): field k is the bytes `start[k]` to `end[k]`,
 * or `quoted[k]` (quotes removed, `""` unescaped) where `start[k]` is -1. Reused from record to record.
 */
class CsvRecord {
  bytes: Buffer = Buffer.alloc(0);
  count = 0;
  readonly start: number[] = [];
  readonly end: number[] = [];
  readonly quoted: (string | undefined)[] = [];

  field(k: number): string {
    const at = this.start[k];
    return at < 0 ? this.quoted[k]! : this.bytes.toString('utf8', at, this.end[k]);
  }

  fields(): string[] {
    return Array.from({ length: this.count }, (_, k) => this.field(k));
  }

  /** Every field empty or blank, as a stray line is (skipped, not counted). */
  blank(): boolean {
    for (let k = 0; k < this.count; k++) {
      if (this.start[k] >= 0 && this.end[k] === this.start[k]) continue;
      if (this.field(k).trim() !== '') return false;
    }
    return true;
  }

  /**
   * Reads the record at `from` (RFC 4180: quoted fields may hold commas, line breaks and `""`; lines end
   * in LF or CRLF). Returns where the next record starts, or -1 when `bytes` end inside this one and more
   * is to come (`final` false). As papaparse reads them, a quote closes its field only before a delimiter, and
   * padding after it (CFTC writes `"WHEAT …" ,041228`) is dropped.
   */
  read(bytes: Buffer, from: number, final: boolean): number {
    const n = bytes.length;
    this.bytes = bytes;
    let k = 0;
    let i = from;
    for (;;) {
      let j = i;
      if (bytes[i] === QUOTE) {
        let value = '';
        let rest = i + 1;
        for (;;) {
          const q = bytes.indexOf(QUOTE, rest);
          if (q < 0) {
            if (!final) return -1;
            // An unterminated quote runs to the end of the file.
            value += bytes.toString('utf8', rest, n);
            j = n;
            break;
          }
          if (q + 1 === n && !final) return -1;
          if (bytes[q + 1] === QUOTE) {
            value += bytes.toString('utf8', rest, q + 1);
            rest = q + 2;
            continue;
          }
          // A quote closes the field when a delimiter follows, padding aside; any other is part of the value.
          let after = q + 1;
          while (after < n && isPadding(bytes[after])) after++;
          if (after === n && !final) return -1;
          if (after === n || bytes[after] === COMMA || bytes[after] === LF) {
            value += bytes.toString('utf8', rest, q);
            j = after;
            break;
          }
          value += bytes.toString('utf8', rest, q + 1);
          rest = q + 1;
        }
        this.start[k] = -1;
        this.quoted[k] = value;
      } else {
        while (j < n) {
          const c = bytes[j];
          if (c === COMMA || c === LF) break;
          j++;
        }
        if (j === n && !final) return -1;
        this.start[k] = i;
        this.end[k] = j > i && j < n && bytes[j] === LF && bytes[j - 1] === CR ? j - 1 : j;
      }
      k++;
      if (j < n && bytes[j] === COMMA) {
        i = j + 1;
        continue;
      }
      this.count = k;
      return j < n ? j + 1 : n;
    }
  }

  /**
   * Field k as a whole number, null for `.` or nothing (k -1: a column the report does not have).
   * Plain numbers are read in place; anything else goes the exact way, which also words the rejection.
   */
  integer(k: number, what: string): number | null {
    if (k < 0) return null;
    let i = this.start[k];
    if (i >= 0) {
      const bytes = this.bytes;
      let j = this.end[k];
      while (i < j && bytes[i] === SPACE) i++;
      while (j > i && bytes[j - 1] === SPACE) j--;
      if (i === j || (j - i === 1 && bytes[i] === DOT)) return null;
      const negative = bytes[i] === MINUS;
      if (negative) i++;
      // Up to 15 digits is always a safe integer; longer numbers take the exact way.
      if (i < j && j - i <= 15) {
        let value = 0;
        for (; i < j; i++) {
          const digit = bytes[i] - ZERO;
          if (digit < 0 || digit > 9) break;
          value = value * 10 + digit;
        }
        if (i === j) return negative ? -value : value;
      }
    }
    return integer(this.field(k), what);
  }
}

/** Where each needed column sits (-1: the report type has no such column): by header name when the file has one, else by CFTC's layout. */
function columns(type: ReportType, header: string[] | null) {
  const def = reports[type];
  const names = header?.map(normaliseHeader);
  const at = (column: { name: string; at: number } | null): number => {
    if (!column) return -1;
    const found = names ? names.indexOf(column.name) : column.at;
    if (found < 0) throw new CotFormatError(`column "${column.name}" is missing from the ${def.label} file header`);
    return found;
  };
  const groups = GROUP_KEYS.flatMap((key) => {
    const g = def.groups.find((group) => group.key === key);
    const cols = g
      ? [g.long, g.short, g.spread, g.longChange, g.shortChange, g.spreadChange]
      : Array<null>(6).fill(null);
    return cols.map((column) => ({ name: column?.name ?? '', at: at(column) }));
  });
  return {
    market: at(def.market),
    reportDate: at(def.reportDate),
    code: at(def.code),
    openInterest: at(def.openInterest),
    openInterestChange: at(def.openInterestChange),
    groups,
  };
}

/**
 * Every data record of the file in order, a batch per chunk of input: a normalised row, or why it was
 * rejected. Fails with CotFormatError when the file's shape is wrong, and with the stream's error.
 */
export async function* parseCotBatches(input: Readable, type: ReportType): AsyncGenerator<(CotRow | Rejection)[]> {
  const def = reports[type];
  const record = new CsvRecord();
  let at: ReturnType<typeof columns> | undefined;
  let width = 0;
  let position = 0;
  let bytes: Buffer = Buffer.alloc(0);
  let atStart = true;
  const dates = new Map<string, string | null>();

  /** The records of `bytes` that are complete (all of them when `final`), converted; `failure` ends the file after them. */
  let failure: CotFormatError | undefined;
  const take = (final: boolean): (CotRow | Rejection)[] => {
    const out: (CotRow | Rejection)[] = [];
    let from = 0;
    if (atStart) {
      // A byte-order mark is no part of the first field.
      if (bytes.length < 3 && !final) return out;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) from = 3;
      atStart = false;
    }
    while (from < bytes.length && !failure) {
      const next = record.read(bytes, from, final);
      if (next < 0) break;
      from = next;
      if (record.blank()) continue;
      position++;
      if (!at) {
        const fields = record.fields();
        const isHeader = fields.some((field) => normaliseHeader(field) === def.code.name);
        width = isHeader ? record.count : def.width;
        at = columns(type, isHeader ? fields : null);
        if (isHeader) continue;
      }
      if (record.count !== width) {
        failure = new CotFormatError(
          `record ${position} has ${record.count} fields, expected ${width}: the file is truncated or not a ${def.label} file`,
        );
      } else out.push(row(record, at, position, dates));
    }
    bytes = bytes.subarray(from);
    return out;
  };

  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const next = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes = bytes.length ? Buffer.concat([bytes, next]) : next;
    const batch = take(false);
    if (batch.length) yield batch;
    if (failure) throw failure;
  }
  const batch = take(true);
  if (batch.length) yield batch;
  if (failure) throw failure;
  if (!at) throw new CotFormatError('the file is empty');
}

/** One data record as a row, or its rejection; `dates` remembers the file's report dates (a few dozen, each on many records). */
function row(
  record: CsvRecord,
  at: ReturnType<typeof columns>,
  position: number,
  dates: Map<string, string | null>,
): CotRow | Rejection {
  try {
    const code = record.field(at.code).trim();
    if (!code) throw new RejectedValue('no contract market code');
    const rawDate = record.field(at.reportDate);
    let date = dates.get(rawDate);
    if (date === undefined) {
      date = reportDate(rawDate);
      if (dates.size < 10_000) dates.set(rawDate, date);
    }
    if (!date) throw new RejectedValue(`invalid report date "${rawDate.trim().slice(0, 40)}"`);
    const openInterest = record.integer(at.openInterest, 'open interest');
    if (openInterest === null || openInterest < 0) throw new RejectedValue('open interest is missing or negative');
    return {
      record: position,
      code,
      reportDate: date,
      // Some market names carry double spaces; only the padding around them is noise.
      market: record.field(at.market).trim(),
      openInterest,
      openInterestChange: record.integer(at.openInterestChange, 'change in open interest'),
      groups: at.groups.map((column) => record.integer(column.at, column.name)),
    };
  } catch (error) {
    if (!(error instanceof RejectedValue)) throw error;
    return { record: position, reason: error.message };
  }
}

/** Every data record of the file in order: a normalised row, or why it was rejected (see `parseCotBatches`). */
export async function* parseCotFile(input: Readable, type: ReportType): AsyncGenerator<CotRow | Rejection> {
  for await (const batch of parseCotBatches(input, type)) yield* batch;
}
