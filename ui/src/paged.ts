/** A cursor-paginated list (`{data, next_cursor}`): the first page, more on demand, with its load state. */
import { computed, onMounted, ref, watch, type Ref, type WatchSource } from 'vue';
import { useLiveEvents } from './events';
import { latestOnly } from './latest';
import { loadStatus, settle, type Answer } from './resource';

type Page<T> = { data: T[]; next_cursor: string | null };

/**
 * A console list that stays current: loaded on mount, reloaded from the first page whenever a live event of the
 * given type prefixes arrives, and started again from `loading` when one of `filters` (the list's query) changes.
 * `status` is the list's one state (see resource.ts); `error` stays beside the rows when a refresh fails.
 */
export function useLiveList<T>(
  fetchPage: (cursor?: string) => Promise<Answer<Page<T>>>,
  { live, filters = [] }: { live: string[]; filters?: WatchSource[] },
) {
  const rows = ref([]) as Ref<T[]>;
  const loaded = ref(false);
  const nextCursor = ref<string | null>(null);
  const error = ref<string | null>(null);
  const loadingMore = ref(false);
  const begin = latestOnly();

  async function load(cursor?: string): Promise<void> {
    const current = begin();
    loadingMore.value = cursor !== undefined;
    const answer = await settle(() => fetchPage(cursor));
    if (!current()) return;
    loadingMore.value = false;
    if (!('data' in answer)) return void (error.value = answer.error);
    error.value = null;
    rows.value = cursor ? [...rows.value, ...answer.data.data] : answer.data.data;
    nextCursor.value = answer.data.next_cursor;
    loaded.value = true;
  }
  function reset(): Promise<void> {
    loaded.value = false;
    rows.value = [];
    nextCursor.value = null;
    error.value = null;
    return load();
  }

  const { events } = useLiveEvents(live, 1);
  onMounted(() => load());
  watch(events, () => load());
  if (filters.length) watch(filters, () => reset());
  const status = computed(() => loadStatus(loaded.value ? rows.value : null, !rows.value.length, error.value));
  return { rows, nextCursor, error, load, status, loadingMore };
}
