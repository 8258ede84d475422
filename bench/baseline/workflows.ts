/** Baseline for benchmarks: the least a Temporal-based process can do — one activity, one HTTP POST. */
import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './activities.js';

const { postOnce } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds' });

export async function bareHttpPostWorkflow(url: string, body: string): Promise<number> {
  return postOnce(url, body);
}

/** Nothing at all: what starting a workflow costs by itself. */
export async function emptyWorkflow(): Promise<void> {}
