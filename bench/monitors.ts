/**
 * Price monitors at scale: N monitors on a one-minute interval against the local shop, created through the API.
 * Reports how long creating them took (goal: 10,000 in < 60 s, so ≥ 167/s at any N), checks/s achieved ÷ checks/s
 * demanded (N/60; goal ≥ 0.99), the lag from each check's due time to its recorded check (p50/p99; goal p99 < 30 s),
 * the peak RSS of the worker (`npm run worker`, a process of its own as deployed; goal < 600 MB), and the CPU used.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createMerchant, issueApiKey } from '../db/merchants.js';
import { PriceCheck } from '../db/models/Monitor.js';
import { spawnWorker } from '../test/faults/processes.js';
import { startShop } from '../test/shop.js';
import { workflowsPath } from '../workers/worker.js';
import { benchEnvironment, machineBusySeconds, percentile, runPool, writeResult } from './harness.js';

const INTERVAL_S = 60;
const GOALS = { ratio: 0.99, lagP99Ms: 30_000, createPerS: 10_000 / 60, rssMb: 600 };
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } as never;

/** A Linux process's resident memory (bytes) and CPU time so far (seconds), from /proc. */
function processStats(pid: number): { rss: number; cpuSeconds: number } {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in 1/100 s.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { rss: rssKb * 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

export async function monitorsBench({ n = 1000, concurrency = 20, seconds = 120 } = {}) {
  const env = await benchEnvironment({ OUTBOUND_ALLOWLIST: '127.0.0.1/32' }, { worker: false });
  const shop = await startShop();
  // Deployed as it should be, with the workflow code bundled beforehand: bundling in the worker would leave webpack's
  // memory (about 150 MB) in it for good.
  const bundlePath = path.join(env.settings.DATA_DIR, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code);
  const worker = await spawnWorker({ ...env.settings, WORKFLOW_BUNDLE_PATH: bundlePath });
  const pid = worker.child.pid!;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, processStats(pid).rss)), 1000);
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
    console.log(`monitors: created ${n} monitors in ${createSeconds.toFixed(1)} s; warming up for one interval`);
    // Every monitor is first due within one interval of its creation: after that, the window sees the steady state.
    await new Promise((r) => setTimeout(r, (INTERVAL_S + 10) * 1000));

    const from = new Date();
    const cpuBefore = process.cpuUsage();
    const workerBefore = processStats(pid).cpuSeconds;
    const machineBefore = machineBusySeconds();
    const startupRss = peakRss;
    peakRss = 0;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = process.cpuUsage(cpuBefore);
    const workerCpu = processStats(pid).cpuSeconds - workerBefore;
    const machineAfter = machineBusySeconds();
    const to = new Date();
    const checks = await PriceCheck.query()
      .where('checked_at', '>=', from)
      .where('checked_at', '<', to)
      .whereNotNull('scheduled_at')
      .select('monitor_id', 'outcome', 'scheduled_at', 'checked_at');
    const lags = checks.map((c) => new Date(c.checked_at).getTime() - new Date(c.scheduled_at!).getTime());
    const achieved = checks.length / seconds;
    const demanded = n / INTERVAL_S;
    const lag = { p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) };
    const rssMb = Math.round(peakRss / 2 ** 20);
    const result = {
      n,
      interval_s: INTERVAL_S,
      window_s: seconds,
      create_s: createSeconds,
      checks_recorded: checks.length,
      failed_checks: checks.filter((c) => c.outcome !== 'ok').length,
      checks_per_s_achieved: achieved,
      checks_per_s_demanded: demanded,
      ratio: achieved / demanded,
      goal: GOALS.ratio,
      // From the slot the check was due at (the monitor's grid) to the commit that recorded it.
      lag_ms: lag,
      // The worker's, in the window; and while it started (bundling the workflow code) and monitors were created.
      peak_rss_mb: rssMb,
      startup_peak_rss_mb: Math.round(startupRss / 2 ** 20),
      worker_cpu_cores: workerCpu / seconds,
      // The API and the local shop, in the benchmark's own process.
      process_cpu_cores: (cpu.user + cpu.system) / 1e6 / seconds,
      // Everything on the machine: the Temporal dev server and PostgreSQL too.
      machine_cpu_busy:
        machineBefore === null || machineAfter === null
          ? null
          : (machineAfter - machineBefore) / seconds / cpus().length,
      machine_cores: cpus().length,
      goals: [
        {
          label: 'lag p99',
          value: `${(lag.p99 / 1000).toFixed(1)} s`,
          goal: `< ${GOALS.lagP99Ms / 1000} s`,
          met: lag.p99 < GOALS.lagP99Ms,
        },
        {
          label: `creating ${n} monitors through the API`,
          value: `${createSeconds.toFixed(1)} s, ${Math.round(n / createSeconds)}/s`,
          goal: `10,000 in < 60 s: ≥ ${Math.ceil(GOALS.createPerS)}/s`,
          met: n / createSeconds >= GOALS.createPerS,
        },
        {
          label: 'peak RSS of the worker',
          value: `${rssMb} MB`,
          goal: `< ${GOALS.rssMb} MB`,
          met: rssMb < GOALS.rssMb,
        },
      ],
    };
    const file = writeResult('monitors', result);
    console.log(
      `monitors: ${achieved.toFixed(2)} checks/s achieved vs ${demanded.toFixed(2)} demanded → ratio ${result.ratio.toFixed(3)} (goal ≥ ${GOALS.ratio})`,
    );
    console.log(
      `  due-to-recorded lag p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms; created in ${createSeconds.toFixed(1)} s; worker peak RSS ${rssMb} MB (${result.startup_peak_rss_mb} MB while starting), CPU ${result.worker_cpu_cores.toFixed(2)} cores; API + shop ${result.process_cpu_cores.toFixed(2)} cores; machine ${((result.machine_cpu_busy ?? NaN) * 100).toFixed(0)} % busy of ${result.machine_cores} cores; ${result.failed_checks} failed → ${file}`,
    );
    return result;
  } finally {
    clearInterval(sampler);
    await worker.kill();
    await shop.close();
    await env.close();
  }
}
