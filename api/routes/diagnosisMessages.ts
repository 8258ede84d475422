/** A diagnosis chat's messages: the owner writes, the assistant's reply comes back in the same request. */
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { z } from 'zod';
import { sendDiagnosisMessage } from '../../clients/diagnosis.js';
import { DiagnosisSchema } from '../../lib/diagnosis/engine.js';
import type { ApiDeps } from '../deps.js';
import { consumeOrRefuse } from '../middleware/rateLimit.js';
import { answerPending, pendingResponse, temporalUnavailableResponse } from '../pending.js';
import type { Api } from '../route.js';
import { SessionIdParams, updateChat, visibleSession } from './diagnosisAccess.js';

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
const PendingReply = z
  .object({
    status: z.literal('pending'),
    poll: z.string().describe('the session, whose messages will show the reply'),
  })
  .meta({ id: 'DiagnosisReplyPending' });

/** Declares POST …/sessions/:id/messages, rate-limited per session. */
export function diagnosisMessageRoutes(api: Api, { config, db, temporal, redis }: ApiDeps) {
  // Built on first use: declaring routes (the OpenAPI generator) touches no dependency.
  let limiter: RateLimiterRedis | undefined;
  const messageLimiter = () =>
    (limiter ??= new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'rl:diagnosis',
      points: config.diagnosis.messagesPerMin,
      duration: 60,
    }));

  api.route({
    method: 'post',
    path: '/api/v1/diagnosis/sessions/:id/messages',
    summary: "Send the owner's message; the assistant's reply (a follow-up question or a diagnosis) is the answer",
    tag: 'diagnosis',
    access: ['public', 'operator'],
    params: SessionIdParams,
    body: z.object({ text: z.string().trim().min(1).max(2000) }),
    responses: {
      200: { description: 'The reply', schema: ReplyOut },
      202: pendingResponse(PendingReply, "the reply will be among the session's messages (Location)."),
      404: { description: 'No such session' },
      409: { description: 'The session is closed' },
      429: { description: 'Too many messages' },
      503: temporalUnavailableResponse,
    },
    handler: async (ctx, { params, body }) => {
      const { row } = await visibleSession(ctx, db, params.id);
      await consumeOrRefuse(messageLimiter(), row.id, 'Too many messages in this session');
      const answer = await updateChat(temporal.client, row, (h) =>
        sendDiagnosisMessage(h, body.text, config.temporal.workflowWaitMs),
      );
      const poll = `/api/v1/diagnosis/sessions/${row.id}`;
      if (!answer.done) return answerPending(ctx, poll, { status: 'pending', poll });
      const reply = answer.value;
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
}
