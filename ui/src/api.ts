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
export const errorMessage = (e: unknown) => (e as ApiError | undefined)?.error?.message ?? 'Request failed';
