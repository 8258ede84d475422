/** What the company route files share: NIP input, the company, watch and change schemas and views. */
import { z } from 'zod';
import type { Asker, WatchRow } from '../../db/companies.js';
import type { CompanyChangeRecord } from '../../db/models/Company.js';
import type { AppContext } from '../context.js';
import { normaliseNip } from '../../lib/companies/nip.js';
import { watchedStatus } from '../../lib/companies/changes.js';
import { isoOrNull } from '../dates.js';

/** A NIP as people write it; parses to the 10 digits, or is refused with the reason (letters, length, checksum). */
export const NipIn = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const checked = normaliseNip(value);
    if (checked.ok) return checked.nip;
    ctx.addIssue({ code: 'custom', message: checked.reason });
    return z.NEVER;
  })
  .meta({
    description:
      'NIP: 10 digits whose last is the official check digit; dashes, spaces and a `PL` prefix are accepted (`123-456-32-18`, `PL 1234563218`)',
    pattern: '^\\s*(?:[Pp][Ll])?[\\s0-9-]+$',
    example: '123-456-32-18',
  });
export const NipParams = z.object({ nip: NipIn });

const Person = z.object({ name: z.string(), nip: z.string().nullable() });
const VatStatus = z.enum(['active', 'exempt', 'other']);
const WatchedStatus = z.enum(['active', 'exempt', 'other', 'not_registered']);

/** The white-list subject (lib/companies/registryAnswer `Company`). */
export const CompanyFields = z.object({
  nip: z.string(),
  name: z.string(),
  vat_status: VatStatus.describe('`active` (Czynny), `exempt` (Zwolniony), or `other` (see the label)'),
  vat_status_label: z.string().nullable().describe("the registry's own word"),
  regon: z.string().nullable(),
  krs: z.string().nullable(),
  residence_address: z.string().nullable(),
  working_address: z.string().nullable(),
  representatives: z.array(Person),
  authorized_clerks: z.array(Person),
  partners: z.array(Person),
  registered_at: z.string().nullable().describe('registration date (YYYY-MM-DD)'),
  registration_denied_at: z.string().nullable(),
  registration_denial_basis: z.string().nullable(),
  restored_at: z.string().nullable(),
  restoration_basis: z.string().nullable(),
  removed_at: z.string().nullable(),
  removal_basis: z.string().nullable(),
  account_numbers: z.array(z.string()).describe('26-digit NRBs on the white list'),
  has_virtual_accounts: z.boolean(),
});

/** Why an answer is stale, or why none came: the registry's state when it was asked. */
export const RegistryStateOut = z
  .object({
    available: z.boolean(),
    reason: z
      .enum(['circuit_open', 'limit_reached', 'unavailable', 'refused', 'invalid_answer'])
      .nullable()
      .describe("`limit_reached`: the registry's daily query limit is spent (its 429)"),
    retry_at: z.string().nullable().describe('when asking the registry again makes sense'),
    message: z.string().nullable(),
  })
  .meta({ id: 'RegistryState' });

export const CompanyOut = CompanyFields.extend({
  source: z
    .enum(['cache', 'live', 'stored'])
    .describe('Redis, the registry now, or PostgreSQL (the last answer kept) while the registry is unavailable'),
  fetched_at: z.string().describe('when this answer came from the registry'),
  stale: z.boolean().describe('true when served from PostgreSQL because the registry could not answer now'),
  request_id: z.string().describe("the registry's id of the query that fetched it"),
  registry: RegistryStateOut.nullable().describe('why the answer is stale; null when it is not'),
}).meta({ id: 'Company' });

const ChangeOut = z
  .object({
    field: z.enum(['vat_status', 'name', 'residence_address', 'working_address', 'account_numbers']),
    before: z.string().nullable().optional(),
    after: z.string().nullable().optional(),
    added: z.array(z.string()).optional().describe('account_numbers: accounts now on the list'),
    removed: z.array(z.string()).optional().describe('account_numbers: accounts no longer on the list'),
  })
  .meta({ id: 'CompanyFieldChange' });

export const CompanyChangeOut = z
  .object({
    id: z.number(),
    detected_at: z.string(),
    changes: z.array(ChangeOut),
    delivery_id: z.string().nullable().describe('the `company.changed` webhook delivery (merchant watches)'),
  })
  .meta({ id: 'CompanyChange' });

export const WatchOut = z
  .object({
    id: z.string(),
    nip: z.string(),
    name: z.string().nullable().describe('as last seen; null until the first answer'),
    vat_status: WatchedStatus.nullable().describe('as last seen; null until the first answer'),
    merchant_id: z.string().nullable().describe('the watching merchant; null for a console user'),
    baseline_at: z.string().nullable().describe('since when changes are detected; null until the first check'),
    last_checked_at: z.string().nullable(),
    next_check_at: z.string(),
    last_error: z
      .string()
      .nullable()
      .describe('why the last check got no answer (a check waiting on the registry says so)'),
    last_error_at: z.string().nullable(),
    last_change_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'CompanyWatch' });

export const WatchDetailOut = WatchOut.extend({
  company: CompanyFields.nullable().describe('the company as last seen (null: not on the list, or not seen yet)'),
  changes: z.array(CompanyChangeOut).describe('newest first, at most 100'),
}).meta({ id: 'CompanyWatchDetail' });

export const watchView = (w: WatchRow) => ({
  id: w.id,
  nip: w.nip,
  name: w.snapshot?.name ?? null,
  vat_status: w.baseline_at ? watchedStatus(w.snapshot) : null,
  merchant_id: w.merchant_id,
  baseline_at: isoOrNull(w.baseline_at),
  last_checked_at: isoOrNull(w.last_checked_at),
  next_check_at: isoOrNull(w.next_check_at)!,
  last_error: w.last_error,
  last_error_at: isoOrNull(w.last_error_at),
  last_change_at: isoOrNull(w.last_change_at),
  created_at: isoOrNull(w.created_at)!,
});

export const changeView = (c: CompanyChangeRecord) => ({
  id: Number(c.id),
  detected_at: isoOrNull(c.detected_at)!,
  changes: c.changes,
  delivery_id: c.delivery_id,
});

/** Who is asking, as the repositories record it. */
export function askerOf(ctx: AppContext): Asker {
  const p = ctx.state.principal!;
  return p.kind === 'merchant' ? { merchantId: p.merchantId, userId: null } : { merchantId: null, userId: p.userId };
}
