/** A cursor-paginated list (`{data, next_cursor}`): the first page, more on demand, errors shown. */
import { onMounted, ref, watch, type Ref, type WatchSource } from 'vue';
import { errorMessage } from './api';
import { useLiveEvents } from './events';
import { latestOnly } from './latest';

type Page<T> = { data: T[]; next_cursor: string | null };

function usePagedList<T>(fetchPage: (cursor?: string) => Promise<{ data?: Page<T>; error?: unknown }>) {
  const rows = ref([]) as Ref<T[]>;
  const nextCursor = ref<string | null>(null);
  const error = ref<string | null>(null);
  const loading = latestOnly();
  async function load(cursor?: string) {
    const current = loading();
    const { data, error: e } = await fetchPage(cursor);
    if (!current()) return;
    if (!data) return void (error.value = errorMessage(e));
    error.value = null;
    rows.value = cursor ? [...rows.value, ...data.data] : data.data;
    nextCursor.value = data.next_cursor;
  }
  return { rows, nextCursor, error, load };
}

/**
 * A console list that stays current: loaded on mount, reloaded from the first page whenever a live
 * event of the given type prefixes arrives or one of `filters` (the list's query) changes.
 */
export function useLiveList<T>(
  fetchPage: (cursor?: string) => Promise<{ data?: Page<T>; error?: unknown }>,
  { live, filters = [] }: { live: string[]; filters?: WatchSource[] },
) {
  const list = usePagedList(fetchPage);
  const { events } = useLiveEvents(live, 1);
  onMounted(() => list.load());
  watch([events, ...filters], () => list.load());
  return list;
}
