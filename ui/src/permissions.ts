/**
 * What the signed-in console user may use (issue 21): their role and modules from `GET /api/v1/auth/permissions`,
 * which console paths need which module (the API's tag map, lib/accounts/modules.ts, seen from the pages), and the
 * words for users' states and modules. The API decides; this only keeps the console from offering what it refuses.
 */
import { reactive } from 'vue';
import { api } from './api';
import { session } from './session';
import type { Severity } from './labels';
import type { components } from '../../openapi/schema';

export type Module = components['schemas']['Permissions']['modules'][number];
export type Role = components['schemas']['Permissions']['role'];
export type UserState = components['schemas']['User']['state'];

/** Every module, in the API's order, with its name in the navigation's words. */
export const MODULES: Array<{ value: Module; label: string }> = [
  { value: 'payments', label: 'Payments' },
  { value: 'monitors', label: 'Price monitors' },
  { value: 'cot', label: 'COT data' },
  { value: 'diagnosis', label: 'Diagnosis' },
  { value: 'booking', label: 'Booking' },
  { value: 'companies', label: 'Companies' },
];
export const moduleLabel = (m: Module) => MODULES.find((x) => x.value === m)?.label ?? m;

export const USER_STATES: Record<UserState, { label: string; severity: Severity }> = {
  active: { label: 'Active', severity: 'success' },
  inactive: { label: 'Deactivated', severity: 'danger' },
  unverified: { label: 'Email not verified', severity: 'warn' },
};

/** A console path's first segment → the module its pages need (merchants are part of payments). */
const PATH_MODULES: Record<string, Module> = {
  payments: 'payments',
  merchants: 'payments',
  monitors: 'monitors',
  cot: 'cot',
  diagnosis: 'diagnosis',
  booking: 'booking',
  companies: 'companies',
};
/** First segments of pages for admins only. */
const ADMIN_PATHS = ['users', 'dev'];

export const permissions = reactive<{ role: Role | null; modules: Module[]; loadedFor: string | null }>({
  role: null,
  modules: [],
  loadedFor: null,
});

let inFlight: Promise<void> | null = null;

/**
 * Loads the user's role and modules once per access token (a new token follows a sign-in or a refresh, so a change
 * an admin made counts within the token's lifetime at most); resolves when known. Without a session: nothing.
 */
export function loadPermissions(): Promise<void> {
  const token = session.token;
  if (!token || permissions.loadedFor === token) return Promise.resolve();
  inFlight ??= api
    .GET('/api/v1/auth/permissions')
    .then(({ data }) => {
      if (!data) return;
      permissions.role = data.role;
      permissions.modules = [...data.modules];
      permissions.loadedFor = token;
    })
    .catch(() => {})
    .finally(() => (inFlight = null));
  return inFlight;
}

/** Whether the user may use `module` (null: a page of no module). */
export const mayUse = (module: Module | null) => module === null || permissions.modules.includes(module);

/** The module a console path needs, or null. */
export const moduleOfPath = (path: string): Module | null => PATH_MODULES[path.split('/')[1] ?? ''] ?? null;

/**
 * Why the user may not open `path`, in words, or null when they may (or their permissions are not known: the API
 * then answers for itself).
 */
export function deniedReason(path: string): string | null {
  if (!permissions.role) return null;
  const segment = path.split('/')[1] ?? '';
  if (ADMIN_PATHS.includes(segment) && permissions.role !== 'admin') return 'This page is for admins only.';
  const module = moduleOfPath(path);
  if (module && !mayUse(module))
    return `This page needs the ${moduleLabel(module)} permission, which your account does not have.`;
  return null;
}
