/** `npm run bench [scenario …] [-- --n=N --concurrency=C --seconds=S --rounds=R]`: each scenario beside its baseline, as ratios. */
import { parseArgs } from 'node:util';
import { bookingBench } from './booking.js';
import { companiesBench } from './companies.js';
import { cotBench } from './cot.js';
import { diagnosisBench } from './diagnosis.js';
import { monitorsBench } from './monitors.js';
import { paymentsBench } from './payments.js';
import { writeSummary } from './summary.js';

const scenarios: Record<
  string,
  (opts: { n?: number; concurrency?: number; seconds?: number; rounds?: number }) => Promise<unknown>
> = {
  payments: paymentsBench,
  booking: bookingBench,
  monitors: monitorsBench,
  diagnosis: diagnosisBench,
  cot: cotBench,
  companies: companiesBench,
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    n: { type: 'string' },
    concurrency: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const chosen = positionals.length ? positionals : Object.keys(scenarios);
const unknown = chosen.filter((s) => !scenarios[s]);
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const opts = {
  n: values.n ? Number(values.n) : undefined,
  concurrency: values.concurrency ? Number(values.concurrency) : undefined,
  seconds: values.seconds ? Number(values.seconds) : undefined,
  rounds: values.rounds ? Number(values.rounds) : undefined,
};
for (const name of chosen) await scenarios[name](opts);
console.log(`summary of every scenario's newest result → ${writeSummary(Object.keys(scenarios))}`);
process.exit(process.exitCode ?? 0);
