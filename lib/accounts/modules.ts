/**
 * Console modules: the areas an operator may be granted one by one (issue 21). Admins hold every module
 * implicitly; an operator holds the modules granted to them (`user_permissions`). Pure: which module an API route
 * (by its OpenAPI tag) and a live event (by its type) belong to.
 */

export const MODULES = ['payments', 'monitors', 'cot', 'diagnosis', 'booking', 'companies'] as const;
export type Module = (typeof MODULES)[number];
export type ModuleRole = 'admin' | 'operator';

/** Route tag → module. Tags absent here (`auth`, `system`, `events`, `users`) need no module. */
const TAG_MODULES: Readonly<Record<string, Module>> = {
  payments: 'payments',
  merchants: 'payments',
  webhooks: 'payments',
  monitors: 'monitors',
  cot: 'cot',
  diagnosis: 'diagnosis',
  booking: 'booking',
  companies: 'companies',
};

/** Event type's first segment (`payment_intent.succeeded` → `payment_intent`) → module. */
const EVENT_MODULES: Readonly<Record<string, Module>> = {
  payment_intent: 'payments',
  webhook: 'payments',
  webhook_endpoint: 'payments',
  monitor: 'monitors',
  cot: 'cot',
  diagnosis: 'diagnosis',
  appointment: 'booking',
  company: 'companies',
};

export const isModule = (value: string): value is Module => (MODULES as readonly string[]).includes(value);

/** The module a route of this OpenAPI tag needs, or null when the tag needs none. */
export const moduleOfTag = (tag: string): Module | null => TAG_MODULES[tag] ?? null;

/** The module a live event of this type belongs to, or null for a type of no known module. */
export const moduleOfEvent = (type: string): Module | null => EVENT_MODULES[type.split('.')[0]] ?? null;

/** What a user may use: every module for an admin, else the granted ones (in `MODULES` order, unknown ones dropped). */
export function effectiveModules(role: ModuleRole, granted: readonly string[]): Module[] {
  return role === 'admin' ? [...MODULES] : MODULES.filter((m) => granted.includes(m));
}

/**
 * Whether a console user may see a live event of `type`: an admin sees every event; an operator sees the events
 * of the modules they hold — and none of a type that belongs to no known module (fail closed: a new event type
 * reaches operators once it is mapped above).
 */
export function userMaySeeEvent(role: ModuleRole, modules: readonly Module[], type: string): boolean {
  if (role === 'admin') return true;
  const module = moduleOfEvent(type);
  return module !== null && modules.includes(module);
}

/** The live event announcing that an admin changed a user's role, active state or modules (`data.user_id`). */
export const USER_ACCESS_CHANGED = 'user.access_changed';
