/**
 * Currency codes as the whole API takes and answers them: ISO 4217 (the platform's `Intl` list) in any letter
 * case in — `eur`, `Eur`, `EUR` — and always the standard's upper-case form out, which is also what is stored.
 */
import { z } from 'zod';
import { canonicalCurrency } from '../lib/platform/currency.js';

const MESSAGE = 'an ISO 4217 currency code, any letter case (e.g. EUR or eur)';

/** Request field: a code in any letter case, refused (400 validation_error) unless ISO 4217; parses to upper case. */
export const CurrencyIn = z
  .string()
  .refine((c) => canonicalCurrency(c) !== null, MESSAGE)
  .transform((c) => canonicalCurrency(c)!)
  .meta({
    description: 'ISO 4217 currency code in any letter case; answered in upper case',
    pattern: '^[A-Za-z]{3}$',
    example: 'EUR',
  });

/** Response field: the canonical upper-case ISO 4217 code. */
export const CurrencyOut = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .meta({ description: 'ISO 4217 currency code, upper case', example: 'EUR' });
