/** Words for a company's VAT status on the white list, with a tag colour (the registry's own word is kept beside). */
import type { Severity } from '../../labels';

const VAT: Record<string, [label: string, severity: Severity]> = {
  active: ['Active VAT payer', 'success'],
  exempt: ['VAT exempt', 'info'],
  other: ['Other VAT status', 'warn'],
  not_registered: ['Not on the white list', 'danger'],
};

/** `active` → "Active VAT payer" (success); null (not seen yet) → "Not checked yet". */
export function vatStatusOf(status: string | null): { label: string; severity: Severity } {
  if (status === null) return { label: 'Not checked yet', severity: 'secondary' };
  const [label, severity] = VAT[status] ?? [status, 'secondary'];
  return { label, severity };
}

/** Where an answer came from, in words (the API's `source`). */
export const SOURCES: Record<string, string> = {
  cache: 'From the cache',
  live: 'Live from the registry',
  stored: 'Stored copy',
};
