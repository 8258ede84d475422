import { describe, expect, it } from 'vitest';
import { isValidNrb, normaliseAccount } from '../../lib/companies/account.js';
import { companyChanges } from '../../lib/companies/changes.js';
import { nipCheckDigit, normaliseNip } from '../../lib/companies/nip.js';
import {
  companyOf,
  msUntilRegistryMidnight,
  registryTime,
  SearchAnswer,
  type RegistrySubject,
} from '../../lib/companies/registryAnswer.js';
import { ACTIVE, EXEMPT, fixture } from '../whitelist.js';

describe('NIP checks', () => {
  it.each([
    ['1234563218', '1234563218'],
    ['123-456-32-18', '1234563218'],
    ['123-45-63-218', '1234563218'],
    [' 123 456 32 18 ', '1234563218'],
    ['PL1234563218', '1234563218'],
    ['pl 123-456-32-18', '1234563218'],
    ['PL-5260181596', '5260181596'],
    [ACTIVE.nip, ACTIVE.nip],
    [EXEMPT.nip, EXEMPT.nip],
  ])('accepts %j as %s', (input, nip) => {
    expect(normaliseNip(input)).toEqual({ ok: true, nip });
  });

  it.each([
    ['1234563219', /check digit should be 8, not 9/],
    ['1234567890', /check digit 10, which is never issued/],
    ['123456321', /10 digits, not 9/],
    ['12345632180', /10 digits, not 11/],
    ['12345632AB', /digits only.*"A"/],
    ['DE1234563218', /digits only.*"D"/],
    ['1234563218PL', /digits only.*"P"/],
    ['١٢٣٤٥٦٣٢١٨', /digits only/],
    ['', /none were given/],
    ['PL', /none were given/],
    ['--', /none were given/],
  ])('refuses %j with the reason', (input, reason) => {
    const checked = normaliseNip(input);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.reason).toMatch(reason);
  });

  it('computes the official check digit (weights 6,5,7,2,3,4,5,6,7, mod 11)', () => {
    // 1·6 + 2·5 + 3·7 + 4·2 + 5·3 + 6·4 + 3·5 + 2·6 + 1·7 = 118 ≡ 8 (mod 11)
    expect(nipCheckDigit('123456321')).toBe(8);
    expect(nipCheckDigit('526018159')).toBe(6);
    // Every single-digit change of a valid NIP is caught.
    for (let i = 0; i < 10; i++)
      for (let d = 0; d < 10; d++) {
        const nip = ACTIVE.nip.slice(0, i) + d + ACTIVE.nip.slice(i + 1);
        if (nip !== ACTIVE.nip) expect(normaliseNip(nip).ok, nip).toBe(false);
      }
  });
});

describe('account checks (NRB / PL IBAN, mod 97)', () => {
  it('accepts the fixtures’ accounts as NRB, IBAN and printed with spaces', () => {
    for (const nrb of ACTIVE.accountNumbers!) {
      expect(isValidNrb(nrb)).toBe(true);
      const spaced = `PL ${nrb.slice(0, 2)} ${nrb.slice(2).replace(/(\d{4})/g, '$1 ')}`;
      for (const input of [nrb, `PL${nrb}`, spaced, spaced.toLowerCase()])
        expect(normaliseAccount(input), input).toEqual({ ok: true, nrb, iban: `PL${nrb}` });
    }
  });

  it.each([
    ['11102010269935181909378658', /check digits do not match/],
    ['12102010269935181909378657', /check digits do not match/],
    ['1110201026993518190937865', /26 digits, not 25/],
    ['DE89370400440532013000', /only Polish accounts.*DE/],
    ['PL1110201026993518190937865X', /digits only.*"X"/],
    ['', /none were given/],
  ])('refuses %j with the reason', (input, reason) => {
    const checked = normaliseAccount(input);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.reason).toMatch(reason);
  });

  it('catches every single-digit error and every swap of two adjacent different digits', () => {
    const nrb = ACTIVE.accountNumbers![0];
    for (let i = 0; i < nrb.length; i++) {
      for (let d = 0; d < 10; d++) {
        const typo = nrb.slice(0, i) + d + nrb.slice(i + 1);
        if (typo !== nrb) expect(isValidNrb(typo), typo).toBe(false);
      }
      if (i + 1 < nrb.length && nrb[i] !== nrb[i + 1]) {
        const swapped = nrb.slice(0, i) + nrb[i + 1] + nrb[i] + nrb.slice(i + 2);
        expect(isValidNrb(swapped), swapped).toBe(false);
      }
    }
  });
});

describe('registry answers', () => {
  it('parses every search fixture and maps the subject to the API’s company', () => {
    const active = SearchAnswer.parse(fixture('search-nip-active.json'));
    const company = companyOf(active.result.subject!);
    expect(company).toMatchObject({
      nip: '5260181596',
      name: 'KOWALCZYK I WSPÓLNICY NARZĘDZIA SPÓŁKA JAWNA',
      vat_status: 'active',
      vat_status_label: 'Czynny',
      krs: '0000412345',
      working_address: 'UL. PRZYKŁADOWA 12/4, 00-950 WARSZAWA',
      residence_address: null,
      representatives: [{ name: 'ANNA PRZYKŁADOWA', nip: null }],
      registered_at: '2012-03-01',
      account_numbers: ['11102010269935181909378657', '05102010269754323194875749'],
      has_virtual_accounts: false,
    });
    expect(JSON.stringify(company)).not.toContain('pesel');
    expect(companyOf(SearchAnswer.parse(fixture('search-nip-exempt.json')).result.subject!).vat_status).toBe('exempt');
    expect(SearchAnswer.parse(fixture('search-nip-not-registered.json')).result.subject).toBeNull();
  });

  it('refuses answers of another shape', () => {
    const good = fixture('search-nip-active.json');
    const broken = [
      { result: { ...good.result, subject: { ...good.result.subject, nip: '52601815' } } },
      { result: { ...good.result, subject: { ...good.result.subject, accountNumbers: ['PL123'] } } },
      { result: { ...good.result, subject: { ...good.result.subject, name: 42 } } },
      { result: { ...good.result, requestId: undefined } },
      { result: { ...good.result, requestDateTime: '2026-11-30T14:21:07Z' } },
      fixture('error-wl-113.json'),
      [],
      null,
    ];
    for (const answer of broken) expect(SearchAnswer.safeParse(answer).success, JSON.stringify(answer)).toBe(false);
  });

  it('reads the registry’s Polish request time, winter and summer', () => {
    expect(registryTime('30-11-2026 14:21:07')).toBe('2026-11-30T13:21:07.000Z');
    expect(registryTime('01-07-2026 09:00:00')).toBe('2026-07-01T07:00:00.000Z');
    expect(registryTime('31-02-2026 09:00:00')).toBeNull();
  });

  it('finds the next midnight in Poland, when the daily limits restart', () => {
    expect(msUntilRegistryMidnight(new Date('2026-11-30T22:30:00Z'))).toBe(30 * 60_000);
    // Summer time: midnight in Warsaw is 22:00 UTC.
    expect(msUntilRegistryMidnight(new Date('2026-07-01T21:00:00Z'))).toBe(3600_000);
  });
});

describe('change detection', () => {
  const base = companyOf(ACTIVE);
  const with_ = (overrides: Partial<RegistrySubject>) => companyOf({ ...ACTIVE, ...overrides });

  it('finds nothing when nothing a watcher cares about changed (case, spacing, account order, other fields)', () => {
    expect(companyChanges(base, base)).toEqual([]);
    expect(
      companyChanges(
        base,
        with_({
          name: '  kowalczyk i wspólnicy  narzędzia spółka jawna',
          accountNumbers: [...ACTIVE.accountNumbers!].reverse(),
          regon: '999999999',
          representatives: [],
        }),
      ),
    ).toEqual([]);
  });

  it('reports VAT status, name, addresses and accounts, in order', () => {
    const after = with_({
      statusVat: 'Zwolniony',
      name: 'KOWALCZYK SPÓŁKA JAWNA',
      residenceAddress: 'UL. NOWA 1, 00-001 WARSZAWA',
      workingAddress: null,
      accountNumbers: [ACTIVE.accountNumbers![1], '61109010140000071219812874'],
    });
    expect(companyChanges(base, after)).toEqual([
      { field: 'vat_status', before: 'active', after: 'exempt' },
      { field: 'name', before: ACTIVE.name, after: 'KOWALCZYK SPÓŁKA JAWNA' },
      { field: 'residence_address', before: null, after: 'UL. NOWA 1, 00-001 WARSZAWA' },
      { field: 'working_address', before: ACTIVE.workingAddress, after: null },
      { field: 'account_numbers', added: ['61109010140000071219812874'], removed: [ACTIVE.accountNumbers![0]] },
    ]);
  });

  it('reports leaving and joining the list as a status change only', () => {
    expect(companyChanges(base, null)).toEqual([{ field: 'vat_status', before: 'active', after: 'not_registered' }]);
    expect(companyChanges(null, companyOf(EXEMPT))).toEqual([
      { field: 'vat_status', before: 'not_registered', after: 'exempt' },
    ]);
    expect(companyChanges(null, null)).toEqual([]);
  });
});
