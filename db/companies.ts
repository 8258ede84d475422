/**
 * Company verification's SQL: the registry's last answer per NIP, every look-up with its per-NIP count, account
 * checks, watches and the changes their checks found (with the `company.changed` event and webhook delivery).
 */
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import type { CachedAnswer } from '../lib/companies/cache.js';
import type { JournalEntry } from '../lib/companies/lookupJournal.js';
import { companyChanges, type CompanyChange } from '../lib/companies/changes.js';
import type { Company } from '../lib/companies/registryAnswer.js';
import { newId } from '../lib/platform/ids.js';
import { pgErrorCode } from './errors.js';
import { CompanyAccountCheck, CompanyChangeRecord, CompanyWatch } from './models/Company.js';
import { subscribes } from './payments.js';

/** The event types of company verification a merchant's webhook endpoint can subscribe to. */
export const companyEventTypes = ['company.changed'] as const;

/** Where a look-up's answer came from: Redis, the registry now, or PostgreSQL while the registry is unavailable. */
export type LookupSource = 'cache' | 'live' | 'stored';
/** What a look-up found, or why it found nothing. */
export type LookupOutcome = 'found' | 'not_registered' | 'unavailable' | 'limited' | 'refused' | 'invalid_answer';

/** Who asked: a merchant (API key) or a console user. */
export interface Asker {
  merchantId: string | null;
  userId: string | null;
}

const upsertAnswer = (db: Knex, answer: CachedAnswer) =>
  db.raw(
    `INSERT INTO companies (nip, data, name, request_id, fetched_at) VALUES (?, ?::jsonb, ?, ?, ?)
     ON CONFLICT (nip) DO UPDATE SET data = excluded.data, name = excluded.name, request_id = excluded.request_id,
       fetched_at = excluded.fetched_at, updated_at = now()
     WHERE companies.fetched_at <= excluded.fetched_at`,
    [
      answer.nip,
      answer.company ? JSON.stringify(answer.company) : null,
      answer.company?.name ?? null,
      answer.request_id,
      answer.fetched_at,
    ],
  );

/** Stores a registry answer as the NIP's latest (an older answer arriving late changes nothing). */
export async function storeCompanyAnswer(db: Knex, answer: CachedAnswer): Promise<void> {
  await upsertAnswer(db, answer);
}

/** The NIP's latest stored registry answer (what is served while the registry is unavailable), or undefined. */
export async function storedCompanyAnswer(db: Knex, nip: string): Promise<CachedAnswer | undefined> {
  const row = await db('companies').where({ nip }).first('nip', 'data', 'request_id', 'fetched_at');
  return row
    ? {
        nip: row.nip,
        company: row.data as Company | null,
        request_id: row.request_id,
        fetched_at: new Date(row.fetched_at).toISOString(),
      }
    : undefined;
}

/**
 * Moves journalled look-ups (lib/companies/lookupJournal.ts) into the history and counts each newly recorded one for
 * its NIP (count + 1, last searched at its time), in one statement: recorded and counted together or not at all.
 * An entry already recorded (a drain repeated after a crash) is skipped by its id and not counted again. An entry
 * whose merchant or user was deleted since is dropped, as the deletion would have removed it (ON DELETE CASCADE):
 * otherwise its foreign key would fail the batch on every drain and stop the journal for good.
 */
export async function recordLookups(db: Knex, entries: JournalEntry[]): Promise<void> {
  await db.raw(
    `WITH rows AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb)
         AS r(id uuid, nip text, source text, outcome text, error text, merchant_id uuid, user_id uuid, at timestamptz)
     ), recorded AS (
       INSERT INTO company_lookups (journal_id, nip, source, outcome, error, merchant_id, user_id, looked_up_at)
       SELECT id, nip, source, outcome, error, merchant_id, user_id, at FROM rows r
       WHERE (r.merchant_id IS NULL OR EXISTS (SELECT 1 FROM merchants m WHERE m.id = r.merchant_id))
         AND (r.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id))
       ON CONFLICT (journal_id) DO NOTHING
       RETURNING nip, looked_up_at
     )
     INSERT INTO company_search_stats AS s (nip, count, last_searched_at)
     SELECT nip, count(*), max(looked_up_at) FROM recorded GROUP BY nip
     ON CONFLICT (nip) DO UPDATE SET count = s.count + excluded.count,
       last_searched_at = greatest(s.last_searched_at, excluded.last_searched_at)`,
    [JSON.stringify(entries)],
  );
}

/** One row of the popular list: a NIP, how often it was looked up, when last, and its name if known. */
export interface PopularCompany {
  nip: string;
  name: string | null;
  count: number;
  last_searched_at: Date;
}

/**
 * The most looked-up NIPs, most first (ties: the latest first). Everyone's look-ups from the running counts; those
 * since `since`, or one merchant's (`merchantId`), counted from the history.
 */
export async function popularCompanies(
  db: Knex,
  { limit, since, merchantId }: { limit: number; since?: Date; merchantId?: string },
): Promise<PopularCompany[]> {
  const rows =
    since || merchantId
      ? await db('company_lookups as l')
          .leftJoin('companies as c', 'c.nip', 'l.nip')
          .modify((q) => {
            if (since) q.where('l.looked_up_at', '>=', since);
            if (merchantId) q.where('l.merchant_id', merchantId);
          })
          .groupBy('l.nip', 'c.name')
          .select('l.nip', 'c.name', db.raw('count(*)::bigint as count'), db.raw('max(l.looked_up_at) as last'))
          .orderBy([
            { column: 'count', order: 'desc' },
            { column: 'last', order: 'desc' },
          ])
          .limit(limit)
      : await db('company_search_stats as s')
          .leftJoin('companies as c', 'c.nip', 's.nip')
          .select('s.nip', 'c.name', 's.count', 's.last_searched_at as last')
          .orderBy([
            { column: 's.count', order: 'desc' },
            { column: 's.last_searched_at', order: 'desc' },
          ])
          .limit(limit);
  return rows.map((r: { nip: string; name: string | null; count: string | number; last: Date }) => ({
    nip: r.nip,
    name: r.name,
    count: Number(r.count),
    last_searched_at: r.last,
  }));
}

/** An account check as the registry answered it, with who asked. */
export type NewAccountCheck = Pick<
  CompanyAccountCheck,
  'nip' | 'account' | 'date' | 'assigned' | 'request_id' | 'merchant_id' | 'user_id'
> & { requested_at: string };

/** Records an account check (the payer's proof: the registry's request id) and returns the stored row. */
export async function recordAccountCheck(db: Knex, check: NewAccountCheck): Promise<CompanyAccountCheck> {
  return CompanyAccountCheck.query(db).insertAndFetch({ ...check, requested_at: new Date(check.requested_at) });
}

/** A watch with the time of its latest change (null: none yet), as lists and the API show it. */
export type WatchRow = CompanyWatch & { last_change_at: Date | null };

const withLastChange = (db: Knex, q: QueryBuilder<CompanyWatch, CompanyWatch[]>) =>
  q.select(
    'company_watches.*',
    db('company_changes')
      .max('detected_at')
      .where('company_changes.watch_id', db.ref('company_watches.id'))
      .as('last_change_at'),
  );

/** The live watch, or undefined when there is none in the scope (`merchantId`: only that merchant's). */
export async function findWatch(
  db: Knex,
  id: string,
  scope: { merchantId?: string } = {},
): Promise<WatchRow | undefined> {
  const q = withLastChange(db, CompanyWatch.query(db)).whereNull('company_watches.deleted_at');
  if (scope.merchantId) q.where('company_watches.merchant_id', scope.merchantId);
  return (await q.findById(id)) as WatchRow | undefined;
}

/** The query (not yet run) for the live watches in the scope, for the caller to page through; rows are WatchRows. */
export function watchListQuery(
  db: Knex,
  { merchantId, nip }: { merchantId?: string; nip?: string },
): QueryBuilder<CompanyWatch, CompanyWatch[]> {
  const q = withLastChange(db, CompanyWatch.query(db)).whereNull('company_watches.deleted_at');
  if (merchantId) q.where('company_watches.merchant_id', merchantId);
  if (nip) q.where('company_watches.nip', nip);
  return q;
}

/**
 * Starts watching the NIP for its owner (a merchant or a console user), or returns the owner's live watch of it
 * (`created: false`). The company as last stored becomes the baseline when it was fetched within `intervalS`, and
 * the first check is due `intervalS` after that fetch; otherwise the first check (due now) takes the baseline.
 */
export async function createWatch(
  db: Knex,
  { nip, merchantId, userId }: { nip: string } & Asker,
  intervalS: number,
): Promise<{ watch: WatchRow; created: boolean }> {
  const existing = async () => {
    const found = await watchListQuery(db, { nip })
      .where(merchantId ? { 'company_watches.merchant_id': merchantId } : { 'company_watches.user_id': userId })
      .first();
    return found as WatchRow | undefined;
  };
  const found = await existing();
  if (found) return { watch: found, created: false };
  try {
    const id = await db.transaction(async (trx) => {
      const stored = await trx('companies')
        .where({ nip })
        .where('fetched_at', '>', trx.raw(`now() - make_interval(secs => ?)`, [intervalS]))
        .first('data', 'fetched_at');
      const [row] = await trx('company_watches')
        .insert({
          nip,
          merchant_id: merchantId,
          user_id: userId,
          ...(stored
            ? {
                baseline_at: stored.fetched_at,
                snapshot: stored.data === null ? null : JSON.stringify(stored.data),
                next_check_at: trx.raw(`?::timestamptz + make_interval(secs => ?)`, [stored.fetched_at, intervalS]),
              }
            : {}),
        })
        .returning('id');
      return row.id as string;
    });
    return { watch: (await findWatch(db, id))!, created: true };
  } catch (error) {
    // The same owner asked twice at once: the other request's watch is the one.
    const raced = pgErrorCode(error) === '23505' ? await existing() : undefined;
    if (raced) return { watch: raced, created: false };
    throw error;
  }
}

/** Stops the watch (it is no longer checked); its change history stays. */
export async function deleteWatch(db: Knex, id: string): Promise<void> {
  await CompanyWatch.query(db).patch({ deleted_at: new Date(), updated_at: new Date() }).findById(id);
}

/** The watch's latest `limit` changes, newest first. */
export async function watchChanges(db: Knex, watchId: string, limit: number): Promise<CompanyChangeRecord[]> {
  return CompanyChangeRecord.query(db).where({ watch_id: watchId }).orderBy('id', 'desc').limit(limit);
}

/** The NIPs whose watches a sweep claimed, each with the ids of its watches (one registry query per NIP). */
export interface ClaimedNip {
  nip: string;
  watchIds: string[];
}

/**
 * Claims up to `limit` live watches that were due at `dueBy` (ISO 8601), oldest due first, for one sweep: their next
 * check moves `leaseS` ahead, so a sweep that dies leaves them due again after that; `SKIP LOCKED` keeps concurrent
 * sweeps apart. Grouped by NIP.
 */
export async function claimDueWatches(
  db: Knex,
  { limit, leaseS, dueBy }: { limit: number; leaseS: number; dueBy: string },
): Promise<ClaimedNip[]> {
  const { rows } = await db.raw(
    `WITH due AS (
       SELECT id FROM company_watches WHERE deleted_at IS NULL AND next_check_at <= ?::timestamptz
       ORDER BY next_check_at LIMIT ? FOR UPDATE SKIP LOCKED
     )
     UPDATE company_watches w SET next_check_at = now() + make_interval(secs => ?)
     FROM due WHERE w.id = due.id RETURNING w.id, w.nip`,
    [dueBy, limit, leaseS],
  );
  const byNip = new Map<string, string[]>();
  for (const { id, nip } of rows as { id: string; nip: string }[]) byNip.set(nip, [...(byNip.get(nip) ?? []), id]);
  return [...byNip].map(([nip, watchIds]) => ({ nip, watchIds }));
}

/**
 * Notes on watches why their check did not get an answer. `retrying`: the check waits for the registry and will
 * be retried (the watch stays claimed); otherwise the check is over and the watch is due again in `intervalS`.
 */
export async function noteWatchError(
  db: Knex,
  watchIds: string[],
  error: string,
  { retrying, intervalS }: { retrying: boolean; intervalS: number },
): Promise<void> {
  await db('company_watches')
    .whereIn('id', watchIds)
    .update({
      last_error: error,
      last_error_at: db.fn.now(),
      updated_at: db.fn.now(),
      ...(retrying ? {} : { next_check_at: db.raw(`now() + make_interval(secs => ?)`, [intervalS]) }),
    });
}

/** The webhook payload of `company.changed`. */
export interface CompanyChangedPayload {
  watch_id: string;
  nip: string;
  name: string | null;
  detected_at: string;
  changes: CompanyChange[];
  /** The company as the check found it; null when it left the list. */
  company: Company | null;
}

/** What recording one check of a watch did. */
export interface WatchCheckRecorded {
  watch: CompanyWatch;
  /** The change this check found (also when a retry finds it recorded already); null when nothing changed. */
  change: CompanyChangeRecord | null;
  /** The webhook delivery to start for it (a merchant's watch whose endpoint takes `company.changed`). */
  deliveryId: string | null;
  /** False when this check had been recorded already (a retried activity): nothing was written. */
  recorded: boolean;
}

/**
 * Records one check of a watch in one transaction, with the watch locked: compares the registry's answer with the
 * watch's snapshot; when something changed, stores the change and — for a merchant's watch — a `company.changed`
 * event and, when the merchant's endpoint takes that type, its pending delivery; then makes the answer the new
 * snapshot and the watch due again in `intervalS`. The first check of a watch with no baseline takes one and
 * announces nothing. Keyed by `checkKey`: a retried recording writes nothing and returns what the first found.
 * Null when the watch is gone.
 */
export function recordWatchCheck(
  db: Knex,
  {
    watchId,
    checkKey,
    answer,
    intervalS,
  }: { watchId: string; checkKey: string; answer: CachedAnswer; intervalS: number },
): Promise<WatchCheckRecorded | null> {
  return db.transaction(async (trx) => {
    const watch = await CompanyWatch.query(trx).findById(watchId).forUpdate();
    if (!watch || watch.deleted_at) return null;
    if (watch.last_check_key === checkKey) {
      const change = await CompanyChangeRecord.query(trx).findOne({ watch_id: watchId, check_key: checkKey });
      return { watch, change: change ?? null, deliveryId: change?.delivery_id ?? null, recorded: false };
    }
    const changes = watch.baseline_at ? companyChanges(watch.snapshot, answer.company) : [];
    let change: CompanyChangeRecord | null = null;
    let deliveryId: string | null = null;
    if (changes.length) {
      const detectedAt = new Date();
      let eventId: string | null = null;
      if (watch.merchant_id) {
        const payload: CompanyChangedPayload = {
          watch_id: watch.id,
          nip: watch.nip,
          name: answer.company?.name ?? watch.snapshot?.name ?? null,
          detected_at: detectedAt.toISOString(),
          changes,
          company: answer.company,
        };
        eventId = newId('evt');
        await trx('events').insert({ id: eventId, merchant_id: watch.merchant_id, type: 'company.changed', payload });
        const merchant = await trx('merchants')
          .where({ id: watch.merchant_id })
          .first('webhook_url', 'webhook_disabled_at', 'webhook_events');
        if (
          merchant?.webhook_url &&
          !merchant.webhook_disabled_at &&
          subscribes(merchant.webhook_events, 'company.changed')
        )
          [{ id: deliveryId }] = await trx('webhook_deliveries')
            .insert({ event_id: eventId, merchant_id: watch.merchant_id, status: 'pending' })
            .returning('id');
      }
      change = await CompanyChangeRecord.query(trx).insertAndFetch({
        watch_id: watch.id,
        nip: watch.nip,
        check_key: checkKey,
        changes,
        company: answer.company,
        event_id: eventId,
        delivery_id: deliveryId,
        detected_at: detectedAt,
      });
    }
    const updated = await CompanyWatch.query(trx).patchAndFetchById(watch.id, {
      snapshot: answer.company,
      baseline_at: watch.baseline_at ?? new Date(answer.fetched_at),
      last_checked_at: new Date(),
      next_check_at: trx.raw(`now() + make_interval(secs => ?)`, [intervalS]) as unknown as Date,
      last_check_key: checkKey,
      last_error: null,
      last_error_at: null,
      updated_at: new Date(),
    });
    return { watch: updated, change, deliveryId, recorded: true };
  });
}
