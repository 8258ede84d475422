/**
 * Polish bank account numbers as the VAT white list knows them: the 26-digit NRB (2 check digits + 8-digit bank
 * and branch number + 16-digit account), or the same as an IBAN (`PL` + the 26 digits). Either is checked with
 * ISO 13616's mod-97 rule (moving `PL` + check digits to the end, letters as 10–35, the number mod 97 must be 1).
 * Spaces and dashes, as printed on invoices, are accepted and dropped.
 */

/** The account as the registry takes it (NRB, 26 digits) and as an IBAN, or why the input is not one. */
export type AccountCheck = { ok: true; nrb: string; iban: string } | { ok: false; reason: string };

/** `digits` (a decimal string of any length) mod 97, computed piecewise so no number outgrows a double. */
function mod97(digits: string): number {
  let rest = 0;
  for (let i = 0; i < digits.length; i += 7) rest = Number(`${rest}${digits.slice(i, i + 7)}`) % 97;
  return rest;
}

/** Whether a 26-digit NRB passes the IBAN check for country PL (P = 25, L = 21). */
export function isValidNrb(nrb: string): boolean {
  return /^\d{26}$/.test(nrb) && mod97(`${nrb.slice(2)}2521${nrb.slice(0, 2)}`) === 1;
}

/** Normalises an NRB or PL IBAN, or says in words what is wrong with it. */
export function normaliseAccount(input: string): AccountCheck {
  const compact = input.replace(/[\s-]/g, '').toUpperCase();
  if (!compact) return { ok: false, reason: 'an account number has 26 digits (or PL and 26 digits); none were given' };
  let digits = compact;
  if (/^[A-Z]{2}/.test(compact)) {
    if (!compact.startsWith('PL'))
      return {
        ok: false,
        reason: `only Polish accounts are on the VAT white list: an NRB, or an IBAN starting PL, not ${compact.slice(0, 2)}`,
      };
    digits = compact.slice(2);
  }
  const foreign = digits.match(/[^0-9]/);
  if (foreign)
    return {
      ok: false,
      reason: `an account number has digits only (spaces and a PL prefix aside), not ${JSON.stringify(foreign[0])}`,
    };
  if (digits.length !== 26) return { ok: false, reason: `an account number has 26 digits, not ${digits.length}` };
  if (!isValidNrb(digits)) return { ok: false, reason: 'not an account number: its IBAN check digits do not match' };
  return { ok: true, nrb: digits, iban: `PL${digits}` };
}
