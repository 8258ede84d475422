/**
 * `bench/results/summary.md`: the newest result of every scenario, its ratio beside its goal, the
 * machine and the date — committed, so the figures can be compared from one run to the next.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./results/', import.meta.url));

interface Result {
  scenario: string;
  date: string;
  machine: { cpus: number; model?: string; node: string };
  ratio: number;
  goal?: number;
  /** The same scenario in other shapes, by label: their ratios. */
  variants?: Record<string, number>;
  /** The scenario's other goals (a latency, a duration, a memory bound): each figure beside its goal. */
  goals?: { label: string; value: string; goal: string; met: boolean }[];
  [key: string]: unknown;
}

/** What each scenario's ratio compares, in the words of its issue. */
const measures: Record<string, string> = {
  payments: 'intents/s end to end, every event delivered (3 webhooks per intent) ÷ bare one-activity workflows/s',
  booking: 'distinct-slot bookings/s ÷ bare workflow starts/s',
  monitors: 'checks/s achieved ÷ demanded',
  diagnosis: 'chat messages/s ÷ no-op Updates/s',
  cot: "ingested rows/s end to end ÷ PostgreSQL's own COPY of the same raw files (text columns) rows/s",
  companies: 'cached NIP look-ups/s ÷ GET /healthz/s (no credential) on the same stack',
};

function newest(scenario: string): Result | null {
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`${scenario}-`) && f.endsWith('.json'))
    .sort();
  return files.length ? (JSON.parse(readFileSync(path.join(dir, files[files.length - 1]), 'utf8')) as Result) : null;
}

const size = (r: Result) =>
  ['n', 'concurrency', 'rounds', 'copies']
    .filter((k) => r[k] !== undefined)
    .map((k) => `${k} ${r[k]}`)
    .join(', ');

/** The lines the committed summary holds for a scenario (its row, then its variants): kept where this checkout has no result of its own. */
function previousLines(summary: string, scenario: string): { row?: string; variants: string[] } {
  const lines = summary.split('\n');
  const row = lines.find((l) => l.startsWith(`| ${scenario} |`) && !l.includes('not run yet'));
  return { row, variants: row ? lines.filter((l) => l.startsWith(`- ${scenario}, `)) : [] };
}

export function writeSummary(scenarios: string[]): string {
  const file = path.join(dir, 'summary.md');
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const rows = scenarios.map((s) => ({ scenario: s, result: newest(s), kept: previousLines(previous, s) }));
  const lines = [
    '# Benchmark summary',
    '',
    'Written by `npm run bench` from the newest result of each scenario in `bench/results/` (the JSON files hold every figure); a scenario not run in this checkout keeps its earlier line.',
    '',
    '| scenario | ratio | goal | met | what the ratio compares | size | date | machine |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(({ scenario, result: r, kept }) =>
      r
        ? `| ${scenario} | ${r.ratio.toFixed(2)} | ${r.goal ?? '—'} | ${r.goal === undefined ? '—' : r.ratio >= r.goal ? 'yes' : 'no'} | ${measures[scenario] ?? ''} | ${size(r)} | ${r.date.slice(0, 16).replace('T', ' ')} UTC | ${r.machine.cpus} × ${r.machine.model ?? 'cpu'}, Node ${r.machine.node} |`
        : (kept.row ?? `| ${scenario} | not run yet | | | ${measures[scenario] ?? ''} | | | |`),
    ),
    '',
    ...rows.flatMap(({ scenario, result: r, kept }) =>
      r
        ? [
            ...Object.entries(r.variants ?? {}).map(
              ([label, ratio]) => `- ${scenario}, ${label}: ratio ${ratio.toFixed(2)}`,
            ),
            ...(r.goals ?? []).map(
              (g) => `- ${scenario}, ${g.label}: ${g.value} (goal ${g.goal}, ${g.met ? 'met' : 'not met'})`,
            ),
          ]
        : kept.variants,
    ),
    '',
  ];
  writeFileSync(file, lines.join('\n'));
  return file;
}
