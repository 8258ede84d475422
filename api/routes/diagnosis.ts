/** AI diagnosis sessions: a chat per car owner, one long-lived workflow each. */
import { WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { z } from 'zod';
import { DiagnosisMessage, DiagnosisSession } from '../../db/models/Diagnosis.js';
import { Workshop } from '../../db/models/Workshop.js';
import { newId } from '../../lib/platform/ids.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { DiagnosisSchema, OBD_CODE } from '../../lib/diagnosis/engine.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import {
  closeSession,
  diagnosisWorkflowId,
  sendMessage,
  type DiagnosisSessionWorkflow,
} from '../../workflows/contracts/diagnosis.js';
import type { AppContext } from '../context.js';
import { customerOrOperator, runUpdate } from '../customerAccess.js';
import type { ApiDeps } from '../deps.js';
import { consumeOrRefuse } from '../middleware/rateLimit.js';
import { ApiError } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';

/** The customer's credential for one chat, returned once when it starts. */
export const SESSION_TOKEN_HEADER = 'x-session-token';

const Vehicle = z.object({
  make: z.string().trim().min(1).max(80),
  model: z.string().trim().min(1).max(80),
  year: z.number().int().min(1950).max(2100),
  mileage: z.number().int().min(0).max(3_000_000),
  vin: z
    .string()
    .regex(/^[A-HJ-NPR-Z0-9]{17}$/i, 'a 17-character VIN')
    .nullish(),
  obd_codes: z
    .array(
      z
        .string()
        .regex(new RegExp(`^${OBD_CODE.source}$`, 'i'), 'an OBD-II code such as P0300')
        .transform((c) => c.toUpperCase()),
    )
    .max(20)
    .optional(),
});
const MessageOut = z.object({
  seq: z.number(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  kind: z.enum(['question', 'diagnosis']).nullable(),
  model: z.string().nullable(),
  latency_ms: z.number().nullable(),
  confidence: z.number().nullable(),
  created_at: z.string(),
});
const SessionOut = z
  .object({
    id: z.string(),
    status: z.enum(['open', 'closed']),
    close_reason: z.string().nullable(),
    vehicle: Vehicle,
    workshop_id: z.string().nullable(),
    diagnosis: DiagnosisSchema.nullable(),
    rating: z.number().nullable(),
    feedback_comment: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    workflow_id: z.string().optional(),
    temporal_url: z.string().optional(),
  })
  .meta({ id: 'DiagnosisSession' });
const ReplyOut = z
  .object({
    type: z.enum(['question', 'diagnosis']),
    text: z.string(),
    confidence: z.number(),
    diagnosis: DiagnosisSchema.optional(),
    model: z.string(),
    latency_ms: z.number(),
  })
  .meta({ id: 'DiagnosisReply' });
const IdParams = z.object({ id: z.uuid() });

export function diagnosisRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;
  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let limiter: RateLimiterRedis | undefined;
  const messageLimiter = () =>
    (limiter ??= new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'rl:diagnosis',
      points: config.diagnosis.messagesPerMin,
      duration: 60,
    }));

  function view(s: DiagnosisSession, operator: boolean) {
    const workflowId = diagnosisWorkflowId(s.id);
    return {
      id: s.id,
      status: s.status,
      close_reason: s.close_reason,
      vehicle: s.vehicle,
      workshop_id: s.workshop_id,
      diagnosis: s.diagnosis,
      rating: s.rating,
      feedback_comment: s.feedback_comment,
      created_at: isoOrNull(s.created_at)!,
      updated_at: isoOrNull(s.updated_at)!,
      ...(operator ? { workflow_id: workflowId, temporal_url: workflowUrl(config, workflowId) } : {}),
    };
  }

  const visible = (ctx: AppContext, id: string) =>
    customerOrOperator<DiagnosisSession>(ctx, SESSION_TOKEN_HEADER, 'Diagnosis session', async () =>
      DiagnosisSession.query().findById(id),
    );
  const update = <T>(session: DiagnosisSession, run: (h: WorkflowHandle) => Promise<T>) =>
    runUpdate(temporal.client.workflow.getHandle(diagnosisWorkflowId(session.id)), run);

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions',
    summary: 'Start a diagnosis chat about a vehicle',
    tag: 'diagnosis',
    access: ['public', 'operator'],
    body: z.object({ vehicle: Vehicle, workshop_id: z.uuid().optional() }),
    responses: {
      201: {
        description: `Started; keep access_token for ${SESSION_TOKEN_HEADER}`,
        schema: SessionOut.extend({ access_token: z.string() }),
      },
    },
    handler: async (ctx, { body }) => {
      if (body.workshop_id && !(await Workshop.query().findById(body.workshop_id))) {
        throw new ApiError(400, 'validation_error', 'No such workshop', [
          { path: 'workshop_id', message: 'unknown workshop' },
        ]);
      }
      const token = newId('ds', 32);
      const session = await db.transaction(async (trx) => {
        const created = await DiagnosisSession.query(trx).insertAndFetch({
          access_token_hash: sha256(token),
          vehicle: body.vehicle,
          workshop_id: body.workshop_id ?? null,
          status: 'open',
        });
        // Started inside the transaction: if Temporal refuses, no session is stored.
        await temporal.client.workflow.start<DiagnosisSessionWorkflow>('diagnosisSessionWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId: diagnosisWorkflowId(created.id),
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          args: [
            {
              sessionId: created.id,
              idleMs: config.diagnosis.idleS * 1000,
              continueAfter: config.diagnosis.continueAsNewAfter,
            },
          ],
        });
        return created;
      });
      await publish(redis, domainEvent('diagnosis.started', null, { session_id: session.id })).catch(() => {});
      ctx.status = 201;
      ctx.body = { ...view(session, ctx.state.principal?.kind === 'user'), access_token: token };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/messages',
    summary: "Send the owner's message; the assistant's reply (a follow-up question or a diagnosis) is the answer",
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: IdParams,
    body: z.object({ text: z.string().trim().min(1).max(2000) }),
    responses: {
      200: { description: 'The reply', schema: ReplyOut },
      404: { description: 'No such session' },
      409: { description: 'The session is closed' },
      429: { description: 'Too many messages' },
    },
    handler: async (ctx, { params, body }) => {
      const { row } = await visible(ctx, params.id);
      await consumeOrRefuse(messageLimiter(), row.id, 'Too many messages in this session');
      const reply = await update(row, (h) => h.executeUpdate(sendMessage, { args: [{ text: body.text }] }));
      ctx.body = {
        type: reply.type,
        text: reply.text,
        confidence: reply.confidence,
        diagnosis: reply.type === 'diagnosis' ? reply.diagnosis : undefined,
        model: reply.model,
        latency_ms: reply.latencyMs,
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/diagnosis/sessions/:id',
    summary: `One session with its transcript (operators, or the owner with ${SESSION_TOKEN_HEADER})`,
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: IdParams,
    responses: {
      200: {
        description: 'The session',
        schema: SessionOut.extend({ messages: z.array(MessageOut) }).meta({ id: 'DiagnosisSessionDetail' }),
      },
      404: { description: 'No such session' },
    },
    handler: async (ctx, { params }) => {
      const { row, operator } = await visible(ctx, params.id);
      const messages = await DiagnosisMessage.query().where({ session_id: row.id }).orderBy('seq');
      ctx.body = {
        ...view(row, operator),
        messages: messages.map((m) => ({
          seq: m.seq,
          role: m.role,
          content: m.content,
          kind: m.kind,
          model: m.model,
          latency_ms: m.latency_ms,
          confidence: m.confidence,
          created_at: isoOrNull(m.created_at)!,
        })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/api/v1/diagnosis/sessions',
    summary: 'Sessions, newest first',
    tag: 'diagnosis',
    access: ['operator'],
    query: PageQuery.extend({ status: z.enum(['open', 'closed']).optional() }),
    responses: {
      200: {
        description: 'A page',
        schema: z.object({ data: z.array(SessionOut), next_cursor: z.string().nullable() }),
      },
    },
    handler: async (ctx, { query }) => {
      const q = DiagnosisSession.query();
      if (query.status) q.where({ status: query.status });
      const page = await pageOf(q, query);
      ctx.body = { data: page.rows.map((s) => view(s, true)), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/close',
    summary: 'End the chat',
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: IdParams,
    responses: {
      200: { description: 'Closed (again: unchanged)', schema: SessionOut },
      404: { description: 'No such session' },
      409: { description: 'The session ended meanwhile' },
    },
    handler: async (ctx, { params }) => {
      const { row, operator } = await visible(ctx, params.id);
      if (row.status === 'open')
        await update(row, (h) =>
          h.executeUpdate(closeSession, {
            args: [{ reason: operator ? 'closed by an operator' : 'closed by the owner' }],
          }),
        );
      ctx.body = view((await DiagnosisSession.query().findById(row.id))!, operator);
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/feedback',
    summary: "The owner's rating of the diagnosis",
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: IdParams,
    body: z.object({ rating: z.number().int().min(1).max(5), comment: z.string().trim().max(2000).optional() }),
    responses: { 200: { description: 'Saved', schema: SessionOut }, 404: { description: 'No such session' } },
    handler: async (ctx, { params, body }) => {
      const { row, operator } = await visible(ctx, params.id);
      ctx.body = view(
        await DiagnosisSession.query().patchAndFetchById(row.id, {
          rating: body.rating,
          feedback_comment: body.comment ?? null,
          updated_at: new Date(),
        }),
        operator,
      );
    },
  });
}
