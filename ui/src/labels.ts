/** Words for the API's codes: statuses and event types as an operator reads them, with a tag colour each. */

export type Severity = 'success' | 'info' | 'warn' | 'danger' | 'secondary' | 'contrast';

/** `requires_payment_method` → `Requires payment method`: the fallback for codes without a word of their own. */
export const humanize = (code: string) => {
  const words = code.replace(/[._]/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

const STATUSES: Record<string, [label: string, severity: Severity]> = {
  // payments
  requires_payment_method: ['Awaiting payment', 'info'],
  processing: ['Processing', 'warn'],
  succeeded: ['Succeeded', 'success'],
  failed: ['Failed', 'danger'],
  canceled: ['Canceled', 'secondary'],
  // webhook deliveries
  pending: ['Pending', 'warn'],
  // appointments
  held: ['Held', 'warn'],
  confirmed: ['Confirmed', 'success'],
  in_progress: ['In progress', 'info'],
  completed: ['Completed', 'success'],
  no_show: ['No-show', 'secondary'],
  expired: ['Expired', 'secondary'],
  // chats, runs, health
  open: ['Open', 'info'],
  closed: ['Closed', 'secondary'],
  running: ['Running', 'info'],
  partial: ['Partly loaded', 'warn'],
  ok: ['OK', 'success'],
  down: ['Down', 'danger'],
};

/** A status's label and tag colour; unknown codes are humanized and neutral. */
export function statusOf(code: string): { label: string; severity: Severity } {
  const [label, severity] = STATUSES[code] ?? [humanize(code), 'secondary'];
  return { label, severity };
}

const EVENT_TYPES: Record<string, string> = {
  'payment_intent.created': 'Payment created',
  'payment_intent.processing': 'Payment processing',
  'payment_intent.succeeded': 'Payment succeeded',
  'payment_intent.payment_failed': 'Payment failed',
  'payment_intent.canceled': 'Payment canceled',
  'monitor.price_alert': 'Price alert',
  'diagnosis.started': 'Diagnosis chat started',
  'diagnosis.diagnosed': 'Diagnosis given',
  'diagnosis.closed': 'Diagnosis chat closed',
  'cot.ingestion_started': 'COT ingestion started',
  'cot.ingestion_succeeded': 'COT ingestion finished',
  'cot.ingestion_partial': 'COT ingestion partly failed',
  'cot.ingestion_failed': 'COT ingestion failed',
  'webhook_endpoint.disabled': 'Webhook endpoint disabled',
  'api_key.revoked': 'API key revoked',
};

/** An event type in words: `payment_intent.succeeded` → `Payment succeeded`, `appointment.held` → `Appointment held`. */
export const eventLabel = (type: string) => EVENT_TYPES[type] ?? humanize(type);
