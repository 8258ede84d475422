/**
 * Live domain events: workers publish to one Redis channel; each API process subscribes once and
 * fans out to its Server-Sent-Event clients, each of which sees only what its caller may see.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export const EVENTS_CHANNEL = 'meridian:events';

export interface DomainEvent {
  id: string;
  type: string;
  /** The tenant the event belongs to; null for operator-only events. */
  merchant_id: string | null;
  occurred_at: string;
  data: Record<string, unknown>;
}

export function domainEvent(type: string, merchantId: string | null, data: Record<string, unknown>): DomainEvent {
  return { id: randomUUID(), type, merchant_id: merchantId, occurred_at: new Date().toISOString(), data };
}

export async function publish(redis: Redis, event: DomainEvent): Promise<void> {
  await redis.publish(EVENTS_CHANNEL, JSON.stringify(event));
}

type Listener = (event: DomainEvent) => void;

export class EventHub {
  private readonly listeners = new Set<Listener>();

  private constructor(private readonly subscriber: Redis) {
    subscriber.on('message', (_channel: string, message: string) => {
      const event = JSON.parse(message) as DomainEvent;
      for (const listener of this.listeners) listener(event);
    });
  }

  /** Takes ownership of a dedicated connection (a subscribed Redis connection can do nothing else). */
  static async open(subscriber: Redis): Promise<EventHub> {
    await subscriber.subscribe(EVENTS_CHANNEL);
    return new EventHub(subscriber);
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber.disconnect();
  }
}
