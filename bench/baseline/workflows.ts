/** Baselines for benchmarks: the least a Temporal-based process can do (one HTTP activity, a bare start, a no-op Update). */
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BaselineActivities } from './activities.js';

const { postOnce } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export async function bareHttpPostWorkflow(url: string, body: string): Promise<number> {
  return postOnce(url, body);
}

/** Nothing at all: what starting a workflow costs by itself. */
export async function emptyWorkflow(): Promise<void> {}

export const noopUpdate = defineUpdate<number, [number]>('noop');

/** Answers an Update at once and does nothing else: what a round trip through Temporal costs. */
export async function noopUpdateWorkflow(): Promise<void> {
  let done = false;
  setHandler(noopUpdate, (n) => n);
  setHandler(defineUpdate('finish'), () => void (done = true));
  await condition(() => done);
}
