/** The typed API client: paths and bodies come from the generated OpenAPI types. */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../openapi/schema';
import { session, refreshSession } from './session';

const withAuth: Middleware = {
  async onRequest({ request }) {
    if (session.token) request.headers.set('Authorization', `Bearer ${session.token}`);
    return request;
  },
  async onResponse({ request, response }) {
    // An expired access token: refresh once through the HttpOnly cookie and replay the request. Requests failing
    // together share one refresh, and one failing after it just takes the new token (see refreshSession).
    if (response.status !== 401 || !session.token || request.url.includes('/api/v1/auth/')) return response;
    const sent = request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? null;
    if (!(await refreshSession(sent))) return response;
    const retry = new Request(request);
    retry.headers.set('Authorization', `Bearer ${session.token}`);
    return fetch(retry);
  },
};

export const api = createClient<paths>({ baseUrl: '/', credentials: 'same-origin' });
api.use(withAuth);

export type ApiError = { error: { code: string; message: string; details: unknown } };

/**
 * The API's error in words: its message, followed by what each invalid field was refused for
 * (`The request is invalid — webhook_url: must be a public address`). Anything else (a proxy's page, a network
 * failure) says what happened without pretending to know more.
 */
export function errorMessage(e: unknown, response?: Response): string {
  const error = (e as ApiError | undefined)?.error;
  if (error?.message) {
    const details = Array.isArray(error.details)
      ? (error.details as { path?: unknown; message?: unknown }[])
          .filter((d) => typeof d?.message === 'string')
          .map((d) => (d.path ? `${String(d.path)}: ${String(d.message)}` : String(d.message)))
      : [];
    return details.length ? `${error.message} — ${details.join('; ')}` : error.message;
  }
  if (e instanceof Error) return `The server could not be reached (${e.message})`;
  if (response) return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return 'Request failed';
}
