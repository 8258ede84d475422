/** Deep links into the Temporal Web UI, for any workflow id the console shows. */
import { ref } from 'vue';

const meta = ref<{ temporal_ui_url: string; temporal_namespace: string } | null>(null);

export async function loadMeta(): Promise<void> {
  const res = await fetch('/api/v1/meta');
  if (res.ok) meta.value = await res.json();
}

export function workflowLink(workflowId: string): string | null {
  if (!meta.value) return null;
  const { temporal_ui_url, temporal_namespace } = meta.value;
  return `${temporal_ui_url}/namespaces/${encodeURIComponent(temporal_namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export const temporalUiUrl = () => meta.value?.temporal_ui_url ?? null;
