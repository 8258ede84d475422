/**
 * Telling the operator what happened: toasts for finished actions (errors stay until closed, in the API's words),
 * and a confirmation before anything destructive. Built on PrimeVue's ToastService and ConfirmationService
 * (installed in theme.ts; `<Toast>` and `<ConfirmDialog>` live in App.vue).
 */
import { ref } from 'vue';
import { useConfirm } from 'primevue/useconfirm';
import { useToast } from 'primevue/usetoast';
import { settle, type Answer } from './resource';

export interface Confirmation {
  header: string;
  message: string;
  /** The button that goes ahead, named for what it does ("Cancel payment", "Revoke key"). */
  accept: string;
  /** The button that backs out; "Keep" unless the action reads better otherwise. */
  reject?: string;
  /** false for a confirmation that destroys nothing (the accept button is then the primary colour). */
  danger?: boolean;
}

export function useFeedback() {
  const toast = useToast();
  const confirm = useConfirm();
  /** Which action is running (by name), so its button shows it and cannot be pressed twice. */
  const busy = ref<string | null>(null);

  /** Resolves true when the operator confirms, false when they back out (button, Escape or the close icon). */
  function confirmed(c: Confirmation): Promise<boolean> {
    return new Promise((resolve) =>
      confirm.require({
        header: c.header,
        message: c.message,
        acceptProps: { label: c.accept, severity: c.danger === false ? undefined : 'danger' },
        rejectProps: { label: c.reject ?? 'Keep', severity: 'secondary', outlined: true },
        accept: () => resolve(true),
        reject: () => resolve(false),
        onHide: () => resolve(false),
      }),
    );
  }

  /**
   * Runs an API call as the action `name`: on success a short toast saying `done` and the data; on failure a toast
   * with the API's error in words (kept until closed) and null. An error to show inline instead (in a form) comes
   * back through `onError`, with no toast.
   */
  async function act<T>(
    name: string,
    call: () => Promise<Answer<T>>,
    { done, onError }: { done?: string; onError?: (message: string) => void } = {},
  ): Promise<T | null> {
    busy.value = name;
    const answer = await settle(call);
    busy.value = null;
    if ('data' in answer) {
      if (done) toast.add({ severity: 'success', summary: done, life: 4000 });
      return answer.data;
    }
    if (onError) onError(answer.error);
    else toast.add({ severity: 'error', summary: `${name} failed`, detail: answer.error });
    return null;
  }

  return { act, busy, confirmed, toast };
}
