import type { Redis } from 'ioredis';
import { publish, type DomainEvent } from '../lib/platform/events.js';

/** Live events for the console; best effort by nature (SSE clients reconnect and re-read state). */
export function eventActivities(redis: Redis) {
  return {
    async publishEvent(event: DomainEvent): Promise<void> {
      await publish(redis, event);
    },
  };
}
