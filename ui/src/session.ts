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

function adopt(body: SessionBody) {
  session.token = body.access_token;
  session.user = body.user;
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

export async function refreshSession(): Promise<boolean> {
  const res = await post('/api/v1/auth/refresh');
  if (!res.ok) {
    session.token = null;
    session.user = null;
    return false;
  }
  adopt(await res.json());
  return true;
}

export async function signOut(): Promise<void> {
  await post('/api/v1/auth/logout');
  session.token = null;
  session.user = null;
}
