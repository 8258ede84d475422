/** Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, key = base64 after `whsec_`. */
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

export function signatureFor(secret: string, msgId: string, timestamp: number, body: string): string {
  if (!secret.startsWith(PREFIX)) throw new Error('webhook secrets start with whsec_');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of one attempt; during a rotation every active secret signs (space-separated). */
export function webhookHeaders(
  secrets: string[],
  msgId: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signatureFor(s, msgId, timestamp, body)).join(' '),
  };
}
