/**
 * Company verification: cached NIP look-ups/s through the API (credential check, rate limits, the cache hit and its
 * journal entry in one Redis script, drained into PostgreSQL beside) ÷ `GET /healthz`/s (no credential, as a probe
 * asks) on the same stack, taking turns for `rounds`; beside it the look-up with a merchant's API key instead,
 * `/api/v1/meta` and `/healthz` with the token. Then single flight — 100 concurrent misses of one NIP against a slow
 * stand-in registry must make one registry call.
 */
import { Agent, request } from 'undici';
import { createMerchant, signIn } from '../test/helpers.js';
import { companyLike, randomNip, startWhiteList } from '../test/whitelist.js';
import { benchEnvironment, percentile, runPool, writeResult } from './harness.js';

const MISSES = 100;

export async function companiesBench({ n = 5000, concurrency = 20, rounds = 3 } = {}) {
  const registry = await startWhiteList();
  const env = await benchEnvironment({ OUTBOUND_ALLOWLIST: '127.0.0.1/32', WHITELIST_BASE_URL: registry.url });
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  try {
    const { token } = await signIn(env.apiUrl, 'operator');
    const merchant = await createMerchant(env.apiUrl, (await signIn(env.apiUrl, 'admin')).token);
    // /healthz is asked as a probe asks it, with no credential; every /api route carries the operator's token.
    const get = async (
      path: string,
      latencies?: number[],
      credential: string | null = path.startsWith('/api/') ? token : null,
    ) => {
      const started = performance.now();
      const res = await request(`${env.apiUrl}${path}`, {
        dispatcher: agent,
        headers: credential ? { authorization: `Bearer ${credential}` } : {},
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
      latencies?.push(performance.now() - started);
    };
    const nip = randomNip();
    registry.setSubject(nip, companyLike(nip));
    await get(`/api/v1/companies/${nip}`);
    // Warm every path (JIT, connection pool) before timing: fewer warm-up requests left the first round ≈ 0.1 lower.
    await runPool(3000, concurrency, () => get(`/api/v1/companies/${nip}`));
    await runPool(3000, concurrency, () => get('/healthz'));
    await runPool(3000, concurrency, () => get('/api/v1/meta'));
    await runPool(3000, concurrency, () => get('/healthz', undefined, token));
    await runPool(3000, concurrency, () => get(`/api/v1/companies/${nip}`, undefined, merchant.key));

    const lookupLatencies: number[] = [];
    let lookupSeconds = 0;
    let healthSeconds = 0;
    let metaSeconds = 0;
    let healthWithTokenSeconds = 0;
    let merchantSeconds = 0;
    const perRound: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const l = await runPool(n, concurrency, () => get(`/api/v1/companies/${nip}`, lookupLatencies));
      const h = await runPool(n, concurrency, () => get('/healthz'));
      // The floor of every /api route: the same credential check and rate limits, a constant answer.
      metaSeconds += await runPool(n, concurrency, () => get('/api/v1/meta'));
      // Earlier runs' comparison: the credential check on both sides.
      healthWithTokenSeconds += await runPool(n, concurrency, () => get('/healthz', undefined, token));
      merchantSeconds += await runPool(n, concurrency, () => get(`/api/v1/companies/${nip}`, undefined, merchant.key));
      lookupSeconds += l;
      healthSeconds += h;
      perRound.push(h / l);
    }
    if (registry.searches(nip) !== 1)
      throw new Error(`the cached look-ups reached the registry ${registry.searches(nip)} times`);

    const miss = randomNip();
    registry.setSubject(miss, companyLike(miss));
    registry.setFault(miss, { delayMs: 200 });
    const answers = await Promise.all(
      Array.from({ length: MISSES }, () => get(`/api/v1/companies/${miss}`).then(() => true)),
    );
    const singleFlight = {
      concurrent_misses: MISSES,
      answered: answers.length,
      registry_calls: registry.searches(miss),
    };

    const total = n * rounds;
    const result = {
      n,
      concurrency,
      rounds,
      cached_lookups_per_s: total / lookupSeconds,
      healthz_per_s: total / healthSeconds,
      api_meta_per_s: total / metaSeconds,
      merchant_key_lookups_per_s: total / merchantSeconds,
      ratio: healthSeconds / lookupSeconds,
      goal: 0.8,
      round_ratios: perRound,
      lookup_ms: { p50: percentile(lookupLatencies, 50), p99: percentile(lookupLatencies, 99) },
      single_flight: singleFlight,
      variants: {
        'cached look-ups/s ÷ GET /api/v1/meta/s (the same credential check and rate limits, a constant answer)':
          metaSeconds / lookupSeconds,
        'cached look-ups/s ÷ GET /healthz/s with the same operator token (the credential check on both sides)':
          healthWithTokenSeconds / lookupSeconds,
        "cached look-ups/s with a merchant's API key ÷ GET /healthz/s (no credential)": healthSeconds / merchantSeconds,
        'single flight: 1 ÷ registry calls for 100 concurrent misses': 1 / singleFlight.registry_calls,
      },
    };
    const file = writeResult('companies', result);
    console.log(
      `companies: ${result.cached_lookups_per_s.toFixed(0)} cached look-ups/s vs ${result.healthz_per_s.toFixed(0)} /healthz/s → ratio ${result.ratio.toFixed(2)} (rounds ${perRound.map((r) => r.toFixed(2)).join(', ')}); /api/v1/meta ${result.api_meta_per_s.toFixed(0)}/s; with a merchant key ${result.merchant_key_lookups_per_s.toFixed(0)}/s`,
    );
    console.log(
      `  look-up p50 ${result.lookup_ms.p50.toFixed(1)} ms, p99 ${result.lookup_ms.p99.toFixed(1)} ms; ${MISSES} concurrent misses → ${singleFlight.registry_calls} registry call(s) → ${file}`,
    );
    return result;
  } finally {
    await agent.close();
    await env.close();
    await registry.close();
  }
}
