/** The signed-in operator: the access token lives in memory only; the refresh token is an HttpOnly cookie. */
import { reactive } from 'vue';

interface SessionUser {
  id: string;
  email: string;
  role: 'admin' | 'operator';
}
interface SessionBody {
  access_token: string;
  user: SessionUser;
}

export const session = reactive<{ token: string | null; user: SessionUser | null }>({ token: null, user: null });

/**
 * A non-secret hint that this browser signed in and may hold a refresh cookie (the cookie itself is HttpOnly, so
 * the page cannot see it): without it no refresh is tried, so anonymous pages (login, the customers' pages) never
 * ask for one and log a 401. Set on sign-in and each refresh, cleared on sign-out and on a refused refresh.
 */
const SESSION_HINT = 'meridian.signed-in';
const hint = {
  get: () => localStorage.getItem(SESSION_HINT) === '1',
  set: (on: boolean) => (on ? localStorage.setItem(SESSION_HINT, '1') : localStorage.removeItem(SESSION_HINT)),
};

/** Takes a session the API answered with (login, a verified sign-up). */
export function adopt(body: SessionBody) {
  session.token = body.access_token;
  session.user = body.user;
  hint.set(true);
}

function forget() {
  session.token = null;
  session.user = null;
  hint.set(false);
}

async function post(path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function signIn(email: string, password: string): Promise<string | null> {
  const res = await post('/api/v1/auth/login', { email, password });
  const body = await res.json();
  if (!res.ok) return body?.error?.message ?? 'Sign-in failed';
  adopt(body);
  return null;
}

/** Runs `work` holding the console's refresh lock, shared by every tab (Web Locks; secure contexts only). */
async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  return 'locks' in navigator ? await navigator.locks.request('meridian-refresh', work) : work();
}

let inFlight: Promise<boolean> | null = null;

/**
 * Exchanges the refresh cookie for a new access token; false (signed out) when the server refuses it. A rotated
 * cookie presented again past a short grace counts as stolen, so refreshes never overlap: callers in this tab share
 * the one in flight, tabs take turns through a Web Lock (each then presents the cookie the previous one received), and
 * `stale` — the access token the caller found expired — is not refreshed again when the session has already
 * moved past it.
 */
export function refreshSession(stale: string | null = session.token): Promise<boolean> {
  if (session.token !== stale) return Promise.resolve(session.token !== null);
  if (!hint.get()) return Promise.resolve(false);
  inFlight ??= withRefreshLock(async () => {
    const res = await post('/api/v1/auth/refresh');
    if (!res.ok) {
      forget();
      return false;
    }
    adopt(await res.json());
    return true;
  }).finally(() => (inFlight = null));
  return inFlight;
}

export async function signOut(): Promise<void> {
  await post('/api/v1/auth/logout');
  forget();
}
