/**
 * A local stand-in for the VAT white list (wl-api.mf.gov.pl) speaking its REST format, built on the made-up
 * subjects in ../shared/fixtures/whitelist: `GET /api/search/nip/{nip}?date=` and
 * `GET /api/check/nip/{nip}/bank-account/{nrb}?date=`, with the registry's `WL-…` error bodies for a missing date
 * or a malformed NIP or account. Tests change subjects (`setSubject`) and make it misbehave (`setFault`: 5xx, 429
 * with or without Retry-After, an answer of the wrong shape, slowness), and count what it was asked (`searches`).
 *
 * Also a demo registry for `npm start` without internet: `npx tsx test/whitelist.ts [port]` serves the fixtures
 * (and a generated company for any other valid NIP) until stopped; see README § Company verification.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { nipCheckDigit } from '../lib/companies/nip.js';
import type { RegistrySubject } from '../lib/companies/registryAnswer.js';

/** `../shared` beside the project root, as the fixtures' README places it; SHARED_DIR names another. */
export const FIXTURES = path.join(
  process.env.SHARED_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared'),
  'fixtures/whitelist',
);

export const fixture = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));

/** The fixtures' subjects: an active VAT payer with two accounts, an exempt sole trader with none. */
export const ACTIVE: RegistrySubject = fixture('search-nip-active.json').result.subject;
export const EXEMPT: RegistrySubject = fixture('search-nip-exempt.json').result.subject;
/** The registry's answer to a NIP of the wrong length. */
const WL_113 = fixture('error-wl-113.json');

/** A random NIP that passes the checksum (none of the fixtures'), so runs never meet each other's cached answers. */
export function randomNip(): string {
  for (;;) {
    const first9 = String(100_000_000 + (randomBytes(4).readUInt32BE() % 900_000_000));
    const check = nipCheckDigit(first9);
    if (check !== 10) return `${first9}${check}`;
  }
}

/** A made-up company like the active fixture under another NIP (and name), with `overrides`. */
export const companyLike = (nip: string, overrides: Partial<RegistrySubject> = {}): RegistrySubject => ({
  ...structuredClone(ACTIVE),
  nip,
  name: `FIRMA TESTOWA ${nip} SPÓŁKA Z OGRANICZONĄ ODPOWIEDZIALNOŚCIĄ`,
  ...overrides,
});

/** How the stand-in misbehaves, for one NIP or every request. */
export type Fault =
  { status: number; body?: unknown; headers?: Record<string, string> } | { garbled: true } | { delayMs: number };

export interface Call {
  kind: 'search' | 'check';
  nip: string;
  at: number;
}

const requestTime = () => DateTime.now().setZone('Europe/Warsaw').toFormat('dd-MM-yyyy HH:mm:ss');
const requestId = () =>
  `${randomBytes(3).toString('base64url').slice(0, 5)}-${randomBytes(4).toString('hex').slice(0, 7)}`;

/**
 * Starts the stand-in on loopback. `generate`: any valid NIP with no subject set gets a generated company (the
 * demo); otherwise it is not on the list, as the registry answers for a valid NIP it does not know.
 */
export async function startWhiteList({ port = 0, generate = false }: { port?: number; generate?: boolean } = {}) {
  const subjects = new Map<string, RegistrySubject | null>([
    [ACTIVE.nip, ACTIVE],
    [EXEMPT.nip, EXEMPT],
  ]);
  const faults = new Map<string, Fault>();
  const calls: Call[] = [];

  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    const search = url.pathname.match(/^\/api\/search\/nip\/([^/]*)$/);
    const check = url.pathname.match(/^\/api\/check\/nip\/([^/]*)\/bank-account\/([^/]*)$/);
    if (req.method !== 'GET' || (!search && !check))
      return send(404, { code: 'WL-404', message: 'Nie znaleziono zasobu.' });
    const nip = decodeURIComponent((search ?? check)![1]);
    calls.push({ kind: search ? 'search' : 'check', nip, at: Date.now() });

    const fault = faults.get(nip) ?? faults.get('*');
    if (fault && 'delayMs' in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
    else if (fault && 'garbled' in fault)
      return send(200, { result: { subject: { name: 42, nip }, requestId: null, requestDateTime: 'wczoraj' } });
    else if (fault) return send(fault.status, fault.body ?? '<html>Service Unavailable</html>', fault.headers);

    const date = url.searchParams.get('date');
    if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date))
      return send(400, {
        code: 'WL-101',
        message: "Pole 'data' nie może być puste lub ma nieprawidłowy format (101).",
      });
    if (!/^\d{10}$/.test(nip)) return send(400, WL_113);
    const first9 = nip.slice(0, 9);
    if (nipCheckDigit(first9) !== Number(nip[9]))
      return send(400, { code: 'WL-115', message: 'Nieprawidłowy NIP (115).' });
    let subject = subjects.get(nip);
    if (subject === undefined) subject = generate ? companyLike(nip) : null;
    const meta = { requestDateTime: requestTime(), requestId: requestId() };
    if (search) return send(200, { result: { subject, ...meta } });
    const nrb = decodeURIComponent(check![2]);
    if (!/^\d{26}$/.test(nrb))
      return send(400, { code: 'WL-109', message: "Pole 'numer rachunku' ma nieprawidłową długość (109)." });
    const assigned = subject?.accountNumbers?.includes(nrb) ?? false;
    return send(200, { result: { accountAssigned: assigned ? 'TAK' : 'NIE', ...meta } });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    calls,
    /** Sets what the registry answers for the NIP: a subject, or null (not on the list). */
    setSubject: (nip: string, subject: RegistrySubject | null) => void subjects.set(nip, subject),
    /** Misbehaves for the NIP (`*`: every request) until cleared with null. */
    setFault: (nip: string, fault: Fault | null) => void (fault ? faults.set(nip, fault) : faults.delete(nip)),
    /** How many searches for the NIP it answered (or failed). */
    searches: (nip: string) => calls.filter((c) => c.kind === 'search' && c.nip === nip).length,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const registry = await startWhiteList({ port: Number(process.argv[2] ?? 8299), generate: true });
  console.log(`VAT white list stand-in on ${registry.url} (fixtures: ${ACTIVE.nip}, ${EXEMPT.nip}; any other valid NIP
gets a generated company). Start Meridian with:
  WHITELIST_BASE_URL=${registry.url} OUTBOUND_ALLOWLIST=127.0.0.1/32 npm start`);
}
