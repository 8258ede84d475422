/**
 * NIP (Polish tax identification number) checks, done before any registry call. A NIP is 10 digits whose last is
 * a check digit: the first nine weighted 6, 5, 7, 2, 3, 4, 5, 6, 7, summed, mod 11 (a remainder of 10 is never
 * issued, so such a number is invalid). People write it with dashes (`123-456-32-18`, `123-45-67-819`), spaces and
 * a `PL` prefix (the EU VAT form); those are accepted and dropped.
 */

const WEIGHTS = [6, 5, 7, 2, 3, 4, 5, 6, 7];

/** A normalised NIP (10 digits), or why the input is not one. */
export type NipCheck = { ok: true; nip: string } | { ok: false; reason: string };

/** The check digit of nine NIP digits: 0–9, or 10 (no valid NIP continues these nine digits). */
export function nipCheckDigit(first9: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(first9[i]) * WEIGHTS[i];
  return sum % 11;
}

/**
 * Normalises what a person typed into the 10-digit NIP, or says in words what is wrong: letters or other
 * characters, the wrong number of digits, a check digit that does not match.
 */
export function normaliseNip(input: string): NipCheck {
  const compact = input
    .trim()
    .replace(/^PL[\s-]*/i, '')
    .replace(/[\s-]/g, '');
  if (!compact) return { ok: false, reason: 'a NIP has 10 digits; none were given' };
  const foreign = compact.match(/[^0-9]/);
  if (foreign)
    return {
      ok: false,
      reason: `a NIP has digits only (dashes, spaces and a PL prefix aside), not ${JSON.stringify(foreign[0])}`,
    };
  if (compact.length !== 10) return { ok: false, reason: `a NIP has 10 digits, not ${compact.length}` };
  const expected = nipCheckDigit(compact);
  if (expected === 10)
    return { ok: false, reason: 'not a NIP: its first nine digits give check digit 10, which is never issued' };
  if (expected !== Number(compact[9]))
    return { ok: false, reason: `not a NIP: the check digit should be ${expected}, not ${compact[9]}` };
  return { ok: true, nip: compact };
}
