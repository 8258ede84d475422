/** The live event stream (SSE with an Authorization header, so fetch-based rather than EventSource). */
import { fetchEventSource } from '@microsoft/fetch-event-source';
import { onBeforeUnmount, ref } from 'vue';
import { session } from './session';

export interface LiveEvent {
  id: string;
  type: string;
  merchant_id: string | null;
  occurred_at: string;
  data: Record<string, unknown>;
}

/** Keeps the newest `keep` events matching the type prefixes; reconnects on its own. */
export function useLiveEvents(types: string[] = [], keep = 50) {
  const events = ref<LiveEvent[]>([]);
  const connected = ref(false);
  const controller = new AbortController();
  const query = types.length ? `?types=${encodeURIComponent(types.join(','))}` : '';
  void fetchEventSource(`/api/v1/events${query}`, {
    signal: controller.signal,
    headers: session.token ? { Authorization: `Bearer ${session.token}` } : {},
    openWhenHidden: true,
    async onopen(res) {
      connected.value = res.ok;
    },
    onmessage(message) {
      if (!message.data) return;
      events.value = [JSON.parse(message.data) as LiveEvent, ...events.value].slice(0, keep);
    },
    onclose() {
      connected.value = false;
    },
    onerror() {
      connected.value = false;
      return 2_000;
    },
  });
  onBeforeUnmount(() => controller.abort());
  return { events, connected };
}
