/** Runs a console action, shows why it was refused (or clears the error), then reloads what it changed. */
import { ref, type Ref } from 'vue';
import { errorMessage } from './api';

export function useAction(error: Ref<string | null>, reload: () => Promise<void>) {
  const busy = ref(false);
  async function act(run: () => Promise<{ error?: unknown }>) {
    busy.value = true;
    const { error: e } = await run();
    busy.value = false;
    error.value = e ? errorMessage(e) : null;
    await reload();
  }
  return { act, busy };
}
