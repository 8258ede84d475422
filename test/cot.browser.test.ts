/**
 * The COT pages in the browser, over real data: an ingestion through the CFTC stand-in (test/cftc.ts serves the
 * real fixture files) of TFF futures 2017–2026 (indexes over every window) and legacy futures 2025 (11 reports:
 * too few for any index). The screener's search, signal filter, paging, sorting with empty values last and its
 * legend; "needs N more reports" in the screener and the market's charts; the staleness banner; a phone's width;
 * loading and error states; axe-core.
 *
 * This file runs beside test/cot.test.ts, which needs COT tables, cache and the one `cot-ingestion` workflow id to
 * itself: the stack here has a database, a Temporal namespace and a Redis database of its own.
 */
import { mkdirSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../db/knex.js';
import {
  failDataCalls,
  browserStack,
  hasChromium,
  pageOverflow,
  seriousAxeViolations,
  signedInContext,
  viewports,
} from './browser.js';
import { startCftc } from './cftc.js';
import { call, signIn, unique } from './helpers.js';

const ARTIFACTS = 'test/artifacts';
let cftc: Awaited<ReturnType<typeof startCftc>>;
let database: Awaited<ReturnType<typeof createScratchDatabase>>;
const settings: Record<string, string> = {
  OUTBOUND_ALLOWLIST: '127.0.0.1/32',
  COT_SCHEDULE: 'off',
  // Every page at two sizes, reloads, axe and held calls: more requests a minute than one operator makes.
  RATE_LIMIT_PER_IP: '100000',
  RATE_LIMIT_PER_KEY: '100000',
};

// Registered before browserStack's hook, so the stack starts with these settings.
beforeAll(async () => {
  cftc = await startCftc();
  database = await createScratchDatabase(process.env.DATABASE_URL!, 'meridian_cot_browser');
  const namespace = unique('cot-browser');
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
  } finally {
    await connection.close();
  }
  // The COT cache keys carry no database of their own: another Redis database keeps them apart.
  const redis = new URL(process.env.REDIS_URL!);
  redis.pathname = `/${(Number(redis.pathname.slice(1) || 0) + 8) % 16}`;
  Object.assign(settings, {
    CFTC_BASE_URL: cftc.url,
    DATABASE_URL: database.url,
    TEMPORAL_NAMESPACE: namespace,
    REDIS_URL: redis.toString(),
  });
});
const env = browserStack(settings);
afterAll(async () => {
  await cftc?.close();
  await database?.drop();
});

let admin: Awaited<ReturnType<typeof signIn>>;
const url = () => env.stack.api.url;
const get = async (path: string) => {
  const res = await call(url(), 'GET', path, { token: admin.token });
  expect(res.status, res.text).toBe(200);
  return res.json;
};

beforeAll(async () => {
  admin = await signIn(url(), 'admin');
  const res = await call(url(), 'POST', '/api/v1/cot/ingestions', {
    token: admin.token,
    body: {
      report_types: ['tff', 'legacy'],
      subtypes: ['fo'],
      years: Array.from({ length: 10 }, (_, i) => 2017 + i),
    },
  });
  expect(res.status, res.text).toBe(202);
  // expect.poll belongs to tests: a plain wait here.
  let run: { status: string } = { status: 'running' };
  for (const until = Date.now() + 240_000; run.status === 'running' && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 1_000));
    run = await get(`/api/v1/cot/ingestions/${res.json.ingestion.id}`);
  }
  expect(run.status).toBe('succeeded');
  mkdirSync(ARTIFACTS, { recursive: true });
}, 300_000);

/** Gold (COMEX) in the legacy futures report: 11 reports in the 2025 fixture. */
const GOLD = '088691';
const rows = (page: Page) => page.locator('[data-testid=screener-row]');
const ready = (page: Page) => page.locator('[data-state=ready]').first().waitFor({ timeout: 30_000 });
/** The text of one group's index cell in every row shown. */
const indexCells = (page: Page, group: string) =>
  page.locator(`[data-testid=screener-row] [data-group=${group}]`).allTextContents();
const isNull = (text: string) => /needs|—/.test(text);
/** Goes to the first or last page, unless already there (the button is then disabled). */
async function turn(page: Page, name: 'First Page' | 'Last Page') {
  const button = page.getByRole('button', { name });
  if (await button.isEnabled()) await button.click();
}

describe.skipIf(!hasChromium)('COT pages in the browser', () => {
  it('the screener searches by name or code, filters by signal, pages, and sorts empty values last', async () => {
    const screener = await get('/api/v1/cot/screener/tff/fo?limit=500');
    const total: number = screener.total;
    expect(total).toBeGreaterThan(25);
    const { context, page } = await signedInContext(env.browser, url(), admin, viewports.desktop);
    try {
      await page.goto(`${url()}/cot`);
      await ready(page);
      // The legend says that BUY and SELL mean opposite things by role, naming the groups.
      const legend = page.locator('[data-testid=signal-legend]');
      expect(await legend.textContent()).toMatch(
        /BUY and SELL mean opposite positions for hedgers and for speculators/,
      );
      expect(await legend.locator('[data-testid=legend-commercial]').textContent()).toContain('Dealer');
      expect(await legend.locator('[data-testid=legend-speculative]').textContent()).toContain('Leveraged');
      // The report's date in the operator's words, not ISO.
      const reportDate = await page.textContent('[data-testid=report-date]');
      expect(reportDate).toContain('2026');
      expect(reportDate).not.toContain('2026-08-04');

      // Paging: 25 a page, the next page shows the next ones.
      expect(await rows(page).count()).toBe(25);
      expect(await page.textContent('.p-paginator')).toContain(`1–25 of ${total}`);
      const firstPage = await rows(page).allTextContents();
      await page.getByRole('button', { name: 'Next Page' }).click();
      await expect.poll(() => page.textContent('.p-paginator')).toContain(`26–${Math.min(50, total)} of ${total}`);
      expect((await rows(page).allTextContents())[0]).not.toBe(firstPage[0]);

      // Search by name (any case) and by code.
      await page.fill('input[name=search]', 'euro fx');
      await expect
        .poll(() => rows(page).count())
        .toBe(screener.data.filter((r: { name: string }) => r.name.toLowerCase().includes('euro fx')).length);
      for (const text of await rows(page).allTextContents()) expect(text).toContain('EURO FX');
      await page.fill('input[name=search]', '099741');
      await expect.poll(() => rows(page).count()).toBe(1);
      await page.fill('input[name=search]', 'no such market');
      await page.locator('[data-testid=no-match]').waitFor();
      await page.fill('input[name=search]', '');

      // Filter by signal: only markets where some group says SELL, as many as the API has.
      const sells = screener.data.filter((r: { groups: { signal: string | null }[] }) =>
        r.groups.some((g) => g.signal === 'SELL'),
      ).length;
      expect(sells).toBeGreaterThan(0);
      await page.locator('#cot-signal').click();
      await page.getByRole('option', { name: 'A SELL signal' }).click();
      await expect.poll(() => page.textContent('[data-testid=screener-count]')).toContain(`${sells} of ${total}`);
      for (const row of await rows(page).all())
        expect(await row.locator('[data-signal=SELL]').count()).toBeGreaterThan(0);
      await page.screenshot({ path: `${ARTIFACTS}/cot-screener-filtered-1440.png`, fullPage: true });
      await page.locator('#cot-signal').click();
      await page.getByRole('option', { name: 'All markets' }).click();
      await expect.poll(() => rows(page).count()).toBe(25);

      // Sorting by a group's index, up then down: markets without a value come last both ways.
      // A group some markets have no index for (too little history): the one with the most such markets.
      const nullsOf = (group: string) =>
        screener.data.filter(
          (r: { groups: { group: string; index_52: number | null }[] }) =>
            (r.groups.find((g) => g.group === group)?.index_52 ?? null) === null,
        ).length;
      const { groups } = await get('/api/v1/cot/groups/tff');
      const group: string = groups
        .map((g: { id: string }) => g.id)
        .sort((a: string, b: string) => nullsOf(b) - nullsOf(a))[0];
      const nulls = nullsOf(group);
      expect(nulls).toBeGreaterThan(0);
      expect(nulls).toBeLessThan(total);
      await page.getByRole('combobox', { name: 'Rows per page' }).click();
      await page.getByRole('option', { name: '100' }).click();
      const head = page.locator(`th:has([data-testid=group-head-${group}])`);
      for (const order of ['ascending', 'descending']) {
        await head.click();
        await expect.poll(() => head.getAttribute('aria-sort')).toBe(order);
        await turn(page, 'First Page');
        const first = await indexCells(page, group);
        await turn(page, 'Last Page');
        const last = await indexCells(page, group);
        const all = total > 100 ? [...first, ...last.slice(-(total - 100))] : first;
        const values = all.map((t) => (isNull(t) ? null : Number(t.replace(/[^\d.]/g, ''))));
        const firstNull = values.indexOf(null);
        expect(firstNull, `${order}: ${all.join(' | ')}`).toBe(total - nulls);
        expect(values.slice(firstNull).every((v) => v === null)).toBe(true);
        const numbers = values.slice(0, firstNull) as number[];
        expect(numbers).toEqual([...numbers].sort((a, b) => (order === 'ascending' ? a - b : b - a)));
      }
      // Open interest, largest first.
      const oiHead = page.locator('th:has-text("Open interest")');
      await oiHead.click();
      await oiHead.click();
      await expect.poll(() => oiHead.getAttribute('aria-sort')).toBe('descending');
      await turn(page, 'First Page');
      const largest = Math.max(...screener.data.map((r: { open_interest: number }) => r.open_interest));
      const shownOi = await page
        .locator('[data-testid=screener-row] [data-testid=open-interest]')
        .first()
        .textContent();
      expect(Number(shownOi!.replace(/\D/g, ''))).toBe(largest);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('an index without enough history says how many more reports it needs, in the screener and on the chart', async () => {
    const gold = await get(`/api/v1/cot/markets/legacy/fo/${GOLD}`);
    expect(gold.reports).toBe(11);
    const { context, page } = await signedInContext(env.browser, url(), admin, viewports.desktop);
    try {
      await page.goto(`${url()}/cot?report=legacy&positions=fo`);
      await ready(page);
      await page.fill('input[name=search]', GOLD);
      await expect.poll(() => rows(page).count()).toBe(1);
      const needs = await rows(page).locator('[data-testid=needs-more]').allTextContents();
      expect(needs).toEqual(['needs 41 more reports', 'needs 41 more reports', 'needs 41 more reports']);
      // The market's name is the link; its code stays beside it, copyable.
      await rows(page).locator('[data-testid=market-link]').click();
      await page.waitForURL(`${url()}/cot/legacy/fo/${GOLD}`);
      await ready(page);
      expect(await page.textContent('main h1')).toBe(gold.name);
      expect(await page.textContent('[data-testid=market-code]')).toContain(GOLD);
      // The net positions chart draws; the 52-report index cannot, and says why.
      const box = await page.locator('[data-testid=net-chart] canvas').boundingBox();
      expect(box!.height).toBeGreaterThan(200);
      expect(await page.locator('[data-testid=index-chart]').count()).toBe(0);
      expect(await page.textContent('[data-testid=index-needs]')).toContain('needs 41 more reports');
      await page.locator('#cot-index').click();
      await page.getByRole('option', { name: 'COT Index, 13 reports' }).click();
      await expect.poll(() => page.textContent('[data-testid=index-needs]')).toContain('needs 2 more reports');
      await page.screenshot({ path: `${ARTIFACTS}/cot-market-short-history-1440.png`, fullPage: true });

      // A market with years of history draws its index chart.
      await page.goto(`${url()}/cot/tff/fo/099741`);
      await ready(page);
      const index = await page.locator('[data-testid=index-chart] canvas').boundingBox();
      expect(index!.height).toBeGreaterThan(200);
      expect(await page.locator('[data-testid=latest-groups] tbody tr').count()).toBe(5);
      expect(await page.textContent('[data-testid=index-chart] [data-testid=chart-summary]')).toMatch(
        /^COT Index, 52 reports \(0–100\) over 156 reports from .+ to .+\. Latest: Dealer/,
      );
    } finally {
      await context.close();
    }
  }, 120_000);

  it('warns when the newest report is older than DATA_STALE_DAYS; ingestion runs have a tab of their own', async () => {
    const status = await get('/api/v1/cot/status');
    const tff = status.reports.find(
      (r: { report_type: string; subtype: string }) => r.report_type === 'tff' && r.subtype === 'fo',
    );
    expect(tff.stale).toBe(true);
    const { context, page } = await signedInContext(env.browser, url(), admin, viewports.desktop);
    try {
      await page.goto(`${url()}/cot`);
      const banner = page.locator('[data-testid=stale-banner]');
      await banner.waitFor();
      const text = await banner.textContent();
      expect(text).toContain(`${tff.age_days} days ago`);
      expect(text).toContain(`older than ${status.stale_after_days} days`);
      expect(text).not.toContain(tff.latest_report);
      await banner.getByRole('button', { name: 'See ingestion runs' }).click();
      await page.waitForURL(/tab=runs/);
      const run = page.locator('[data-testid=ingestion-run]').first();
      await run.waitFor();
      expect(await run.locator('[data-testid=run-status]').getAttribute('data-status')).toBe('succeeded');
      expect(await run.locator('[data-testid=run-progress]').getAttribute('aria-valuenow')).toBe('100');
      expect(await page.textContent('[data-testid=freshness]')).toContain('Stale');
      await page.screenshot({ path: `${ARTIFACTS}/cot-runs-1440.png`, fullPage: true });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('at 1440×900 and 390×844: screenshots, never wider than the viewport, no serious axe violation', async () => {
    const pages = [
      { name: 'cot', path: '/cot' },
      { name: 'cot-runs', path: '/cot?tab=runs' },
      { name: 'cot-market', path: '/cot/tff/fo/099741' },
      { name: 'cot-market-short', path: `/cot/legacy/fo/${GOLD}` },
    ];
    const problems: string[] = [];
    for (const viewport of Object.values(viewports)) {
      const { context, page } = await signedInContext(env.browser, url(), admin, viewport);
      try {
        for (const p of pages) {
          await page.goto(`${url()}${p.path}`);
          await ready(page).catch(async (e) => {
            await page.screenshot({ path: `${ARTIFACTS}/${p.name}-${viewport.width}-not-ready.png`, fullPage: true });
            throw new Error(`${p.name}@${viewport.width} not ready: ${await page.textContent('main')}`, { cause: e });
          });
          await page.screenshot({ path: `${ARTIFACTS}/${p.name}-${viewport.width}.png`, fullPage: true });
          const { scrollWidth, innerWidth } = await pageOverflow(page);
          if (scrollWidth > innerWidth) problems.push(`${p.name}@${viewport.width}: ${scrollWidth} px wide`);
          for (const v of await seriousAxeViolations(page)) {
            // The page's own content: the shell around it is test/console.layout.browser.test.ts's to check.
            const inPage = await page.evaluate(
              (targets) => targets.filter((t) => document.querySelector(t)?.closest('#main')),
              v.nodes,
            );
            if (inPage.length)
              problems.push(`${p.name}@${viewport.width}: axe ${v.impact} ${v.id} (${v.help}) at ${inPage.join(', ')}`);
          }
        }
      } finally {
        await context.close();
      }
    }
    expect(problems).toEqual([]);
  }, 180_000);

  it('a slow API shows loading, never "no data"; a failing one shows the error, never "no data", and Retry recovers', async () => {
    const { context, page } = await signedInContext(env.browser, url(), admin, viewports.phone);
    const data = (u: string) => /\/api\/v1\/cot\//.test(new URL(u).pathname);
    try {
      for (const path of ['/cot', `/cot/legacy/fo/${GOLD}`]) {
        let released = false;
        const slow = async (route: Route) => {
          if (!data(route.request().url())) return route.continue();
          await new Promise((r) => setTimeout(r, 3_000));
          released = true;
          await route.continue().catch(() => {});
        };
        await page.route('**/api/v1/**', slow);
        await page.goto(`${url()}${path}`);
        const seen = new Set<string>();
        let loadingText = '';
        while (!released) {
          loadingText ||=
            (await page
              .locator('[data-state=loading]')
              .first()
              .textContent({ timeout: 100 })
              .catch(() => '')) ?? '';
          const states = await page
            .locator('[data-state]')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-state')!));
          states.forEach((s) => seen.add(s));
          if (await page.getByText('No data for').count()) seen.add('empty text');
          await page.waitForTimeout(200);
        }
        expect([...seen], path).toContain('loading');
        expect([...seen], path).not.toContain('empty');
        expect([...seen], path).not.toContain('empty text');
        expect(loadingText).toContain('Loading');
        await ready(page);
        await page.unroute('**/api/v1/**', slow);

        const fail = failDataCalls(data);
        await page.route('**/api/v1/**', fail);
        await page.goto(`${url()}${path}`);
        const error = page.locator('[data-state=error]').first();
        await error.waitFor();
        expect(await error.textContent()).toContain('Simulated outage');
        expect(await page.locator('[data-state=empty]').count()).toBe(0);
        expect(await page.getByText('No data for').count()).toBe(0);
        await page.screenshot({ path: `${ARTIFACTS}/${path === '/cot' ? 'cot' : 'cot-market'}-error-390.png` });
        await page.unroute('**/api/v1/**', fail);
        await error.getByRole('button', { name: 'Retry' }).click();
        await ready(page);
      }
    } finally {
      await context.close();
    }
  }, 120_000);
});
