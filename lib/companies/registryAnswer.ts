/**
 * The VAT white list's answers ("Wykaz podatników VAT", the Ministry of Finance's REST API at wl-api.mf.gov.pl) and
 * what Meridian makes of them. The registry is untrusted input: every answer is parsed with these schemas, and
 * one that does not fit is an error to record, never data. A subject becomes a `Company`: English field names,
 * ISO dates, the VAT status as a code, people's PESEL numbers left out.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';

/** The registry keeps its clock in Poland; its request times carry no zone. */
export const REGISTRY_ZONE = 'Europe/Warsaw';

const text = z.string().max(2000);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

/** A representative, authorised clerk or partner: a person (names) or a company (its name). */
const RegistryPerson = z.object({
  companyName: text.nullish(),
  firstName: text.nullish(),
  lastName: text.nullish(),
  nip: z.string().max(20).nullish(),
  pesel: z.string().max(20).nullish(),
});

export const RegistrySubject = z.object({
  name: text.min(1),
  nip: z.string().regex(/^\d{10}$/, '10 digits'),
  statusVat: z.string().max(100).nullish(),
  regon: z.string().max(20).nullish(),
  pesel: z.string().max(20).nullish(),
  krs: z.string().max(20).nullish(),
  residenceAddress: text.nullish(),
  workingAddress: text.nullish(),
  representatives: z.array(RegistryPerson).max(1000).nullish(),
  authorizedClerks: z.array(RegistryPerson).max(1000).nullish(),
  partners: z.array(RegistryPerson).max(1000).nullish(),
  registrationLegalDate: isoDate.nullish(),
  registrationDenialBasis: text.nullish(),
  registrationDenialDate: isoDate.nullish(),
  restorationBasis: text.nullish(),
  restorationDate: isoDate.nullish(),
  removalBasis: text.nullish(),
  removalDate: isoDate.nullish(),
  accountNumbers: z
    .array(z.string().regex(/^\d{26}$/, '26 digits'))
    .max(10_000)
    .nullish(),
  hasVirtualAccounts: z.boolean().nullish(),
});
export type RegistrySubject = z.infer<typeof RegistrySubject>;

const requestMeta = {
  requestId: z.string().min(1).max(200),
  /** `dd-mm-yyyy HH:MM:SS`, Polish time. */
  requestDateTime: z.string().regex(/^\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}$/, 'dd-mm-yyyy HH:MM:SS'),
};

/** `GET /api/search/nip/{nip}?date=`: the subject, or null when the NIP is not on the list. */
export const SearchAnswer = z.object({ result: z.object({ subject: RegistrySubject.nullable(), ...requestMeta }) });

/** `GET /api/check/nip/{nip}/bank-account/{nrb}?date=`: whether the account is the subject's (TAK/NIE). */
export const CheckAnswer = z.object({
  result: z.object({ accountAssigned: z.enum(['TAK', 'NIE']), ...requestMeta }),
});

/** What the registry answers a request it refuses (`WL-1xx` codes, e.g. WL-113 for a NIP of the wrong length). */
export const RegistryErrorAnswer = z.object({ code: z.string().max(50), message: z.string().max(2000) });

/** `Czynny` is an active VAT payer, `Zwolniony` an exempt one; anything else the registry may say is `other`. */
export type VatStatus = 'active' | 'exempt' | 'other';

export interface CompanyPerson {
  name: string;
  nip: string | null;
}

/** A white-list subject as the API shows it (and as it is cached, stored and compared). */
export interface Company {
  nip: string;
  name: string;
  vat_status: VatStatus;
  /** The registry's own word (`Czynny`, `Zwolniony`, …). */
  vat_status_label: string | null;
  regon: string | null;
  krs: string | null;
  residence_address: string | null;
  working_address: string | null;
  representatives: CompanyPerson[];
  authorized_clerks: CompanyPerson[];
  partners: CompanyPerson[];
  registered_at: string | null;
  registration_denied_at: string | null;
  registration_denial_basis: string | null;
  restored_at: string | null;
  restoration_basis: string | null;
  removed_at: string | null;
  removal_basis: string | null;
  account_numbers: string[];
  has_virtual_accounts: boolean;
}

const vatStatusOf = (label: string | null | undefined): VatStatus =>
  label === 'Czynny' ? 'active' : label === 'Zwolniony' ? 'exempt' : 'other';

function personOf(p: z.infer<typeof RegistryPerson>): CompanyPerson {
  const name = p.companyName?.trim() || [p.firstName, p.lastName].filter(Boolean).join(' ').trim();
  return { name, nip: p.nip ?? null };
}

/** The registry's subject as a `Company` (PESEL numbers, personal data the API does not need, are dropped). */
export function companyOf(s: RegistrySubject): Company {
  return {
    nip: s.nip,
    name: s.name,
    vat_status: vatStatusOf(s.statusVat),
    vat_status_label: s.statusVat ?? null,
    regon: s.regon ?? null,
    krs: s.krs ?? null,
    residence_address: s.residenceAddress ?? null,
    working_address: s.workingAddress ?? null,
    representatives: (s.representatives ?? []).map(personOf),
    authorized_clerks: (s.authorizedClerks ?? []).map(personOf),
    partners: (s.partners ?? []).map(personOf),
    registered_at: s.registrationLegalDate ?? null,
    registration_denied_at: s.registrationDenialDate ?? null,
    registration_denial_basis: s.registrationDenialBasis ?? null,
    restored_at: s.restorationDate ?? null,
    restoration_basis: s.restorationBasis ?? null,
    removed_at: s.removalDate ?? null,
    removal_basis: s.removalBasis ?? null,
    account_numbers: s.accountNumbers ?? [],
    has_virtual_accounts: s.hasVirtualAccounts ?? false,
  };
}

/** The registry's `requestDateTime` (`30-11-2026 14:21:07`, Polish time) as an ISO 8601 instant; null if unreadable. */
export function registryTime(value: string): string | null {
  const t = DateTime.fromFormat(value, 'dd-MM-yyyy HH:mm:ss', { zone: REGISTRY_ZONE });
  return t.isValid ? t.toUTC().toISO() : null;
}

/** Today in Poland (`YYYY-MM-DD`): the registry answers "as of" a date, and its day is Poland's. */
export const registryToday = (now = new Date()) => DateTime.fromJSDate(now).setZone(REGISTRY_ZONE).toISODate()!;

/** Milliseconds from `now` to the next midnight in Poland, when the registry's daily query limits start again. */
export const msUntilRegistryMidnight = (now = new Date()) => {
  const t = DateTime.fromJSDate(now).setZone(REGISTRY_ZONE);
  return t.plus({ days: 1 }).startOf('day').toMillis() - t.toMillis();
};

/** A short account of why an answer did not fit its schema: the first few fields and what was wrong. */
export const describeIssues = (error: z.ZodError) =>
  error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`)
    .join('; ');
