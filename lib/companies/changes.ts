/**
 * What changed about a watched company between two registry answers: its VAT status (including leaving or joining
 * the list), its name, either address, its bank accounts. The registry writes names and addresses in capitals
 * with its own spacing; letter case and runs of white space are not changes. Accounts are compared as a set.
 */
import type { Company } from './registryAnswer.js';

/** `not_registered`: the NIP is not on the list (the registry answered with no subject). */
export type WatchedStatus = Company['vat_status'] | 'not_registered';

export type CompanyChange =
  | { field: 'vat_status'; before: WatchedStatus; after: WatchedStatus }
  | { field: 'name' | 'residence_address' | 'working_address'; before: string | null; after: string | null }
  | { field: 'account_numbers'; added: string[]; removed: string[] };

const same = (a: string | null, b: string | null) =>
  (a ?? '').replace(/\s+/g, ' ').trim().toLocaleUpperCase('pl') ===
  (b ?? '').replace(/\s+/g, ' ').trim().toLocaleUpperCase('pl');

/** The VAT status a watch sees: the company's, or `not_registered` when the registry knows no subject. */
export const watchedStatus = (company: Company | null): WatchedStatus => company?.vat_status ?? 'not_registered';

/**
 * The changes from `before` to `after` (null: not on the list), in a fixed order: status, name, addresses,
 * accounts. Empty when nothing a watcher cares about changed. A company that joins or leaves the list changes
 * its status only: its other fields have nothing to be compared with.
 */
export function companyChanges(before: Company | null, after: Company | null): CompanyChange[] {
  const changes: CompanyChange[] = [];
  const [was, is] = [watchedStatus(before), watchedStatus(after)];
  if (was !== is) changes.push({ field: 'vat_status', before: was, after: is });
  if (!before || !after) return changes;
  for (const field of ['name', 'residence_address', 'working_address'] as const)
    if (!same(before[field], after[field])) changes.push({ field, before: before[field], after: after[field] });
  const [old, now] = [new Set(before.account_numbers), new Set(after.account_numbers)];
  const added = [...now].filter((a) => !old.has(a)).sort();
  const removed = [...old].filter((a) => !now.has(a)).sort();
  if (added.length || removed.length) changes.push({ field: 'account_numbers', added, removed });
  return changes;
}
