/** AI diagnosis sessions: a chat per car owner, one long-lived workflow each. */
import { z } from 'zod';
import { closeDiagnosisChat, startDiagnosisWorkflow } from '../../clients/diagnosis.js';
import { createSession, findSession, saveFeedback, sessionListQuery, sessionMessages } from '../../db/diagnosis.js';
import type { DiagnosisSession } from '../../db/models/Diagnosis.js';
import { findWorkshop } from '../../db/workshops.js';
import { newId } from '../../lib/platform/ids.js';
import { sha256 } from '../../lib/platform/crypto.js';
import { DiagnosisSchema, OBD_CODE } from '../../lib/diagnosis/engine.js';
import { domainEvent, publish } from '../../lib/platform/events.js';
import { workflowUrl } from '../../lib/platform/temporal.js';
import { diagnosisWorkflowId } from '../../workflows/contracts/diagnosis.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { pageOf, PageQuery } from '../pagination.js';
import { answerPending, pendingResponse, temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { isoOrNull } from '../dates.js';
import { SESSION_TOKEN_HEADER, SessionIdParams, updateChat, visibleSession } from './diagnosisAccess.js';
import { diagnosisMessageRoutes } from './diagnosisMessages.js';

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

/** Declares the diagnosis routes; the messages route (diagnosisMessages.ts) comes second, as openapi.json orders it. */
export function diagnosisRoutes(api: Api, deps: ApiDeps) {
  const { config, db, temporal, redis } = deps;

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
      if (body.workshop_id && !(await findWorkshop(db, body.workshop_id))) {
        throw new ApiError(400, 'validation_error', 'No such workshop', [
          { path: 'workshop_id', message: 'unknown workshop' },
        ]);
      }
      const token = newId('ds', 32);
      // Started inside the transaction: if Temporal refuses, no session is stored.
      const session = await createSession(
        db,
        { accessTokenHash: sha256(token), vehicle: body.vehicle, workshopId: body.workshop_id ?? null },
        (created) => startDiagnosisWorkflow(temporal.client, config, created.id),
      );
      await publish(redis, domainEvent('diagnosis.started', null, { session_id: session.id })).catch(() => {});
      ctx.status = 201;
      ctx.body = { ...view(session, ctx.state.principal?.kind === 'user'), access_token: token };
    },
  });

  diagnosisMessageRoutes(api, deps);

  api.route({
    method: 'get',
    path: '/api/v1/diagnosis/sessions/:id',
    summary: `One session with its transcript (operators, or the owner with ${SESSION_TOKEN_HEADER})`,
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: SessionIdParams,
    responses: {
      200: {
        description: 'The session',
        schema: SessionOut.extend({ messages: z.array(MessageOut) }).meta({ id: 'DiagnosisSessionDetail' }),
      },
      404: { description: 'No such session' },
    },
    handler: async (ctx, { params }) => {
      const { row, operator } = await visibleSession(ctx, db, params.id);
      const messages = await sessionMessages(db, row.id);
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
      const page = await pageOf(sessionListQuery(db, query.status), query);
      ctx.body = { data: page.rows.map((s) => view(s, true)), next_cursor: page.nextCursor };
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/close',
    summary: 'End the chat',
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: SessionIdParams,
    responses: {
      200: { description: 'Closed (again: unchanged)', schema: SessionOut },
      202: pendingResponse(SessionOut, 'poll `GET /api/v1/diagnosis/sessions/{id}` (Location) for `closed`.'),
      404: { description: 'No such session' },
      409: { description: 'The session ended meanwhile' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params }) => {
      const { row, operator } = await visibleSession(ctx, db, params.id);
      const closed =
        row.status === 'open'
          ? await updateChat(temporal.client, row, (h) =>
              closeDiagnosisChat(
                h,
                operator ? 'closed by an operator' : 'closed by the owner',
                config.temporal.workflowWaitMs,
              ),
            )
          : undefined;
      const body = view((await findSession(db, row.id))!, operator);
      if (closed?.done === false && body.status === 'open')
        answerPending(ctx, `/api/v1/diagnosis/sessions/${row.id}`, body);
      else ctx.body = body;
    },
  });

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/feedback',
    summary: "The owner's rating of the diagnosis",
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: SessionIdParams,
    body: z.object({ rating: z.number().int().min(1).max(5), comment: z.string().trim().max(2000).optional() }),
    responses: { 200: { description: 'Saved', schema: SessionOut }, 404: { description: 'No such session' } },
    handler: async (ctx, { params, body }) => {
      const { row, operator } = await visibleSession(ctx, db, params.id);
      ctx.body = view(await saveFeedback(db, row.id, { rating: body.rating, comment: body.comment ?? null }), operator);
    },
  });
}
