/**
 * Every route is declared once, here-shaped: method, path, who may call it, zod schemas and handler.
 * The same declaration registers the Koa route, validates input and feeds the OpenAPI document,
 * so the spec cannot drift from the router.
 */
import Router from '@koa/router';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z, type ZodType } from 'zod';
import { moduleOfTag, type Module } from '../lib/accounts/modules.js';
import type { AppContext, AppState, Principal } from './context.js';
import { ApiError, forbidden, unauthorized } from './errors.js';
import { IDEMPOTENCY_HEADER, type IdempotencyGuard } from './idempotency.js';

/** `public`: anyone; `operator`: any console user; `admin`: console admins; `merchant`: API keys. */
export type Access = 'public' | 'operator' | 'admin' | 'merchant';
type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .meta({ id: 'Error' });

interface ResponseSpec {
  description: string;
  schema?: ZodType;
  /** Defaults to application/json. */
  contentType?: string;
  /** Response headers worth documenting (e.g. `Location`, `Retry-After`): name → description. */
  headers?: Record<string, string>;
}

export interface RouteSpec<P extends ZodType, Q extends ZodType, B extends ZodType> {
  method: Method;
  /** Koa syntax: `/api/v1/merchants/:id`. */
  path: string;
  /**
   * Further paths of this very operation (e.g. a contract's `/api/v1/payments/create`): the same handler, schemas,
   * access and Idempotency-Key scope (a key used on one path replays on the others); each is in the OpenAPI document.
   */
  aliases?: string[];
  summary: string;
  tag: string;
  access: Access[];
  /**
   * The module a console user must hold (admins hold all): by default the tag's (lib/accounts/modules.ts; none for
   * `auth`, `system`, `events`, `users`). Set only for an exception; null: no module, whatever the tag.
   */
  module?: Module | null;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseSpec>;
  /** Merchant calls may carry an Idempotency-Key (see api/idempotency.ts). */
  idempotent?: boolean;
  handler: (ctx: AppContext, input: RouteInput<P, Q, B>) => Promise<void> | void;
}

/** What a handler gets: the validated params, query and body, and the request's idempotency claim if it has one. */
export interface RouteInput<P extends ZodType, Q extends ZodType, B extends ZodType> {
  params: z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
  /**
   * The id of the request's Idempotency-Key (the same for every attempt of the same request; see api/idempotency.ts).
   * A handler whose work must happen once per key records it with that work, so that an attempt rerun after a
   * crash finds what an earlier one committed. Undefined without an Idempotency-Key.
   */
  idempotencyKeyId?: string;
}

/**
 * Whether `principal` may call a route declared with `access` that needs `module` (null: none). Public routes admit
 * anyone; a merchant key needs `merchant` (modules are the console's, not merchants'); a console user needs
 * `operator` (or `admin` and the admin role) and the module — every admin holds every module.
 */
export function allows(access: Access[], principal: Principal | undefined, module: Module | null = null): boolean {
  if (access.includes('public')) return true;
  if (!principal) return false;
  if (principal.kind === 'merchant') return access.includes('merchant');
  const roleAllows = access.includes('operator') || (principal.role === 'admin' && access.includes('admin'));
  return roleAllows && (module === null || principal.modules.includes(module));
}

/** The module a console user lacks for a route needing `module`, or null (not a user, or held). */
export function missingModule(principal: Principal | undefined, module: Module | null): Module | null {
  return module !== null && principal?.kind === 'user' && !principal.modules.includes(module) ? module : null;
}

/** The 403 of a console user without the route's module. */
export const moduleForbidden = (module: Module) => forbidden(`This needs the ${module} permission`);

const openApiPath = (koaPath: string) => koaPath.replace(/:(\w+)/g, '{$1}');

/**
 * PostgreSQL text and jsonb cannot hold U+0000. A NUL in a body would fail far from the request —
 * inside a workflow's activity, retried for ever while the caller waits — so no body may carry one.
 * Iterative: a body may nest arrays hundreds of thousands deep.
 */
function refuseNulCharacters(body: unknown): unknown {
  const found: string[] = [];
  const stack: [unknown, string][] = [[body, '']];
  while (stack.length && found.length < 10) {
    const [value, path] = stack.pop()!;
    const at = (key: string | number) => (path ? `${path}.${key}` : String(key));
    if (typeof value === 'string') {
      if (value.includes('\u0000')) found.push(path);
    } else if (Array.isArray(value)) value.forEach((v, i) => stack.push([v, at(i)]));
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key.includes('\u0000')) found.push(at(key));
        stack.push([v, at(key)]);
      }
    }
  }
  if (found.length)
    throw new ApiError(
      400,
      'validation_error',
      'The request is invalid',
      found.map((p) => ({ path: p, message: 'must not contain NUL (\\u0000) characters', code: 'invalid_format' })),
    );
  return body;
}

const standardErrors: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid credentials',
  403: 'Not allowed for this caller',
  409: 'Idempotency-Key still in use, or the resource is in a state that does not allow this',
  413: 'Body larger than the limit',
  415: 'Body is not application/json, or its charset or Content-Encoding is not supported',
  422: 'Idempotency-Key reused with a different request',
  429: 'Rate limited; see Retry-After',
};

export class Api {
  readonly router = new Router<AppState>();
  readonly registry = new OpenAPIRegistry();

  /** `idempotency` guards routes declared `idempotent`; the OpenAPI generator needs none. */
  constructor(private readonly idempotency?: IdempotencyGuard) {
    this.registry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'A merchant API key (`mk_…`) or an operator access token from /api/v1/auth/login',
    });
  }

  // `{}` is what z.object({}) parses to: a route without params or query.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  route<P extends ZodType = ZodType<{}>, Q extends ZodType = ZodType<{}>, B extends ZodType = ZodType<undefined>>(
    spec: RouteSpec<P, Q, B>,
  ): void {
    const isPublic = spec.access.includes('public');
    const module = spec.module === undefined ? moduleOfTag(spec.tag) : spec.module;
    // The body parser reads every POST, PUT and PATCH body, whether or not the route takes one.
    const bodyRead =
      spec.body !== undefined || spec.method === 'post' || spec.method === 'put' || spec.method === 'patch';
    const applies: Record<number, boolean> = {
      403: !isPublic,
      409: spec.idempotent === true,
      422: spec.idempotent === true,
      413: bodyRead,
      415: bodyRead,
      429: spec.path.startsWith('/api/'),
    };
    const errorCodes = Object.keys(standardErrors)
      .map(Number)
      .filter((code) => applies[code] ?? true);
    for (const path of [spec.path, ...(spec.aliases ?? [])])
      this.registry.registerPath({
        method: spec.method,
        path: openApiPath(path),
        summary: spec.summary,
        description:
          path === spec.path
            ? undefined
            : `The same operation as \`${spec.method.toUpperCase()} ${openApiPath(spec.path)}\`.`,
        tags: [spec.tag],
        security: isPublic ? [] : [{ bearer: [] }],
        'x-access': spec.access,
        ...(module ? { 'x-module': module } : {}),
        request: {
          headers: spec.idempotent ? z.object({ [IDEMPOTENCY_HEADER]: z.string().max(255).optional() }) : undefined,
          params: spec.params as never,
          query: spec.query as never,
          body: spec.body ? { content: { 'application/json': { schema: spec.body } }, required: true } : undefined,
        },
        responses: Object.fromEntries([
          ...errorCodes.map((code) => [
            code,
            { description: standardErrors[code], content: { 'application/json': { schema: ErrorSchema } } },
          ]),
          ...Object.entries(spec.responses).map(([code, r]) => [
            code,
            {
              description: r.description,
              headers: r.headers
                ? Object.fromEntries(
                    Object.entries(r.headers).map(([name, description]) => [
                      name,
                      { description, schema: { type: 'string' } },
                    ]),
                  )
                : undefined,
              content: r.schema ? { [r.contentType ?? 'application/json']: { schema: r.schema } } : undefined,
            },
          ]),
        ]),
      });
    const serve = async (ctx: AppContext) => {
      const lacking = missingModule(ctx.state.principal, module);
      if (lacking && isPublic) {
        // What anyone may do here, a console user without the module may too — but as anyone, without the
        // operator's reach (another customer's appointment, say): the handler sees no principal.
        ctx.state.principal = undefined;
      } else if (!allows(spec.access, ctx.state.principal, module)) {
        const principal = ctx.state.principal;
        if (!principal) throw unauthorized();
        throw lacking && allows(spec.access, principal) ? moduleForbidden(lacking) : forbidden();
      }
      if (spec.body && !ctx.is('application/json'))
        throw new ApiError(415, 'unsupported_media_type', 'Send the body as application/json');
      const input = {
        params: (spec.params ? spec.params.parse(ctx.params) : {}) as z.output<P>,
        query: (spec.query ? spec.query.parse(ctx.query) : {}) as z.output<Q>,
        body: (spec.body ? spec.body.parse(refuseNulCharacters(ctx.request.body ?? {})) : undefined) as z.output<B>,
      };
      const principal = ctx.state.principal;
      if (spec.idempotent && this.idempotency && principal?.kind === 'merchant') {
        // The route's own path, whichever alias reached it: a key used on one path replays on the others.
        const path = spec.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(ctx.params[name]));
        const request = { operation: `${ctx.method} ${path}`, input };
        await this.idempotency(ctx, principal.merchantId, request, async (idempotencyKeyId) =>
          spec.handler(ctx, { ...input, idempotencyKeyId }),
        );
      } else await spec.handler(ctx, input);
    };
    for (const path of [spec.path, ...(spec.aliases ?? [])]) this.router[spec.method](path, serve);
  }

  document() {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Meridian API',
        version: '1.0.0',
        description: 'Payments, price monitors, COT data, diagnosis sessions and bookings, run as Temporal workflows.',
      },
    });
  }
}

export { ApiError };
