/**
 * Price monitors at scale: N monitors on a one-minute schedule against the local shop. Reports checks/s
 * achieved ÷ checks/s demanded (N/60; goal 1.0), the lag from a schedule's due time to the recorded
 * check (p50/p99), and the CPU the API+worker process used meanwhile.
 */
import { cpus } from 'node:os';
import { createMerchant, issueApiKey } from '../db/merchants.js';
import { PriceCheck } from '../db/models/Monitor.js';
import { startShop } from '../test/shop.js';
import { benchEnvironment, percentile, runPool, writeResult } from './harness.js';

const INTERVAL_S = 60;

function machineCpu() {
  const times = cpus().map((c) => c.times);
  const total = times.reduce((sum, t) => sum + t.user + t.nice + t.sys + t.idle + t.irq, 0);
  const idle = times.reduce((sum, t) => sum + t.idle, 0);
  return { total, busy: total - idle };
}

export async function monitorsBench({ n = 1000, concurrency = 20, seconds = 120 } = {}) {
  const env = await benchEnvironment({ OUTBOUND_ALLOWLIST: '127.0.0.1/32' });
  const shop = await startShop();
  try {
    const { merchant } = await createMerchant({ name: 'bench' }, env.config.secretsKey);
    const { key } = await issueApiKey(merchant.id, 'bench');
    const createSeconds = await runPool(n, concurrency, async (i) => {
      const res = await fetch(`${env.apiUrl}/api/v1/monitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          url: shop.product(`bench-${i}`, 'jsonld', { price: 100 + (i % 50) }),
          target_price: 90,
          currency: 'USD',
          interval: INTERVAL_S,
        }),
      });
      if (res.status !== 201) throw new Error(`create ${i} failed: ${res.status} ${await res.text()}`);
    });
    console.log(`monitors: created ${n} schedules in ${createSeconds.toFixed(1)} s; warming up for one interval`);
    // Every schedule fires once before measuring, so the window sees the steady state.
    await new Promise((r) => setTimeout(r, (INTERVAL_S + 10) * 1000));

    const from = new Date();
    const cpuBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = process.cpuUsage(cpuBefore);
    const machine = machineCpu();
    const to = new Date();
    const checks = await PriceCheck.query()
      .where('checked_at', '>=', from)
      .where('checked_at', '<', to)
      .whereNotNull('scheduled_at');
    const lags = checks.map((c) => new Date(c.checked_at).getTime() - new Date(c.scheduled_at!).getTime());
    const achieved = checks.length / seconds;
    const demanded = n / INTERVAL_S;
    const result = {
      n,
      interval_s: INTERVAL_S,
      window_s: seconds,
      checks_recorded: checks.length,
      failed_checks: checks.filter((c) => c.outcome !== 'ok').length,
      checks_per_s_achieved: achieved,
      checks_per_s_demanded: demanded,
      ratio: achieved / demanded,
      goal: 1.0,
      // The due time includes the schedule's jitter (up to 10 % of the interval), so lag is measured from the jittered fire time.
      lag_ms: { p50: percentile(lags, 50), p99: percentile(lags, 99) },
      process_cpu_cores: (cpu.user + cpu.system) / 1e6 / seconds,
      // Everything on the machine: the Temporal dev server and PostgreSQL too.
      machine_cpu_busy: (machine.busy - machineBefore.busy) / (machine.total - machineBefore.total),
      machine_cores: cpus().length,
    };
    const file = writeResult('monitors', result);
    console.log(
      `monitors: ${achieved.toFixed(2)} checks/s achieved vs ${demanded.toFixed(2)} demanded → ratio ${result.ratio.toFixed(2)} (goal ${result.goal})`,
    );
    console.log(
      `  schedule-fire-to-recorded lag p50 ${result.lag_ms.p50} ms, p99 ${result.lag_ms.p99} ms; API+worker process CPU ${result.process_cpu_cores.toFixed(2)} cores, machine ${(result.machine_cpu_busy * 100).toFixed(0)} % busy of ${result.machine_cores} cores; ${result.failed_checks} failed → ${file}`,
    );
    return result;
  } finally {
    await shop.close();
    await env.close();
  }
}
