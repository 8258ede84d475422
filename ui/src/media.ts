/** Whether the viewport is narrow (a phone): lists then render as cards instead of tables. */
import { onBeforeUnmount, ref } from 'vue';

/** The width under which a page switches to its narrow layout; the shell's drawer switches at 900 px (style.css). */
export const NARROW_QUERY = '(max-width: 640px)';

export function useNarrow() {
  const query = window.matchMedia(NARROW_QUERY);
  const narrow = ref(query.matches);
  const update = (e: MediaQueryListEvent) => (narrow.value = e.matches);
  query.addEventListener('change', update);
  onBeforeUnmount(() => query.removeEventListener('change', update));
  return narrow;
}
