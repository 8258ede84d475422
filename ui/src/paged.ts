/** A cursor-paginated list (`{data, next_cursor}`): the first page, more on demand, errors shown. */
import { ref, type Ref } from 'vue';
import { errorMessage } from './api';
import { latestOnly } from './latest';

type Page<T> = { data: T[]; next_cursor: string | null };

export function usePagedList<T>(fetchPage: (cursor?: string) => Promise<{ data?: Page<T>; error?: unknown }>) {
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
