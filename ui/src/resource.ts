/**
 * Honest loading states for every list and detail. A resource is, at any moment, exactly one of
 * `loading` (nothing to show yet), `error` (nothing to show, and why), `not-found` (there is no such thing),
 * `empty` (loaded, and there is nothing) or `ready` — never two at once. A refresh that fails while data is
 * shown keeps the data and sets `error` beside it (`AsyncState` shows both: the data is still true, only stale).
 */
import { computed, onMounted, ref, watch, type Ref, type WatchSource } from 'vue';
import { errorMessage } from './api';
import { useLiveEvents } from './events';
import { latestOnly } from './latest';

export type LoadStatus = 'loading' | 'error' | 'not-found' | 'empty' | 'ready';

/** What an openapi-fetch call resolves to (the `response` is absent only in hand-made answers). */
export interface Answer<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** The one rule deciding the state from what is known; `data` null means nothing was loaded yet. */
export function loadStatus(data: unknown, empty: boolean, error: string | null, notFound = false): LoadStatus {
  if (notFound) return 'not-found';
  if (data === null || data === undefined) return error ? 'error' : 'loading';
  if (empty) return error ? 'error' : 'empty';
  return 'ready';
}

/** Runs a call and turns every way it can end into data or an error message (a network failure included). */
export async function settle<T>(
  call: () => Promise<Answer<T>>,
): Promise<{ data: T; status: number } | { error: string; status: number | null }> {
  try {
    const answer = await call();
    const status = answer.response?.status ?? 200;
    if (answer.data !== undefined && status < 400) return { data: answer.data, status };
    return { error: errorMessage(answer.error, answer.response), status };
  } catch (e) {
    return { error: errorMessage(e), status: null };
  }
}

export interface ResourceOptions<T> {
  /** When the loaded data counts as "nothing there" (an empty list inside an object, say). */
  isEmpty?: (data: T) => boolean;
  /**
   * A detail page whose only input is the id in its path: a 400 means the id cannot name anything, so it is shown
   * as not found rather than as "The request is invalid".
   */
  notFoundWhenInvalid?: boolean;
  /** Reload (keeping what is shown) when a live event of one of these type prefixes arrives. */
  live?: string[];
  /** Start again from `loading` when one of these changes (the id in the route, a filter). */
  watch?: WatchSource[];
}

/** One resource (a detail, an overview): loaded on mount, reloaded on live events, with its state. */
export function useResource<T>(fetch: () => Promise<Answer<T>>, options: ResourceOptions<T> = {}) {
  const data = ref(null) as Ref<T | null>;
  const error = ref<string | null>(null);
  const notFound = ref(false);
  const begin = latestOnly();

  async function reload(): Promise<void> {
    const current = begin();
    const answer = await settle(fetch);
    if (!current()) return;
    if ('data' in answer) {
      data.value = answer.data;
      error.value = null;
      notFound.value = false;
    } else if (answer.status === 404 || (options.notFoundWhenInvalid && answer.status === 400)) {
      data.value = null;
      error.value = null;
      notFound.value = true;
    } else error.value = answer.error;
  }
  /** Forget what is shown and load again (another id, another filter). */
  function reset(): Promise<void> {
    data.value = null;
    error.value = null;
    notFound.value = false;
    return reload();
  }

  const status = computed(() =>
    loadStatus(
      data.value,
      data.value !== null && (options.isEmpty?.(data.value) ?? false),
      error.value,
      notFound.value,
    ),
  );
  onMounted(reload);
  if (options.live) {
    const { events } = useLiveEvents(options.live, 1);
    watch(events, () => void reload());
  }
  if (options.watch?.length) watch(options.watch, () => void reset());
  return { data, error, status, reload, reset };
}
