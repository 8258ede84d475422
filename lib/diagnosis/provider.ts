/**
 * An OpenAI-compatible chat-completions provider (OpenAI, Ollama, vLLM, LiteLLM) asked for the next
 * assistant turn as structured output. Failures are classified for Temporal's retries: 408/409/429/5xx
 * and network errors are retryable (honouring retry-after-ms / retry-after), the rest are not. Providers that
 * bend the format still work: an answer in a fence or prose is extracted, and a schema refused for its
 * validation keywords is sent again without them (see `structuredOutput.ts`); zod validates either way.
 */
import { request } from 'undici';
import { z } from 'zod';
import { readBody, TooLargeError, UnsupportedEncodingError } from '../platform/outbound.js';
import { retryAfterMs } from '../platform/retryAfter.js';
import { DiagnosisSchema, type ConversationMessage, type Reply, type Vehicle } from './engine.js';
import { extractJsonObject, namedKeywords, relaxSchema } from './structuredOutput.js';

export interface ProviderSettings {
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
}

export const ProviderTurn = z.strictObject({
  type: z.enum(['question', 'diagnosis']),
  text: z.string().min(1).max(4000),
  confidence: z.number().min(0).max(1),
  diagnosis: DiagnosisSchema.nullable(),
});

const { $schema: _draft, ...turnJsonSchema } = z.toJSONSchema(ProviderTurn) as Record<string, unknown>;
/** The same schema without the validation keywords some providers refuse, and which those are. */
const relaxed = relaxSchema(turnJsonSchema);

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
    /** A 400 that named these keywords of the schema sent: the provider refuses them, not the request. */
    readonly refusedKeywords: string[] = [],
  ) {
    super(message);
  }
}

/** A chat completion is a few kilobytes; a provider sending more than this is broken, not verbose. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const SYSTEM_PROMPT = `You are a careful car mechanic helping an owner by chat. Ask one short, targeted follow-up
question at a time until you are confident, then give a diagnosis. Answer only as JSON in the given schema:
type "question" (diagnosis null) or type "diagnosis" (with possible_causes whose probabilities sum to about 1,
severity, recommended_actions, estimated cost range and currency, urgent_workshop_visit, confidence).`;

/** OpenAI's own `retry-after-ms` (milliseconds, may be fractional) first, else the standard `Retry-After`. */
function retryAfter(headers: Record<string, string | string[] | undefined>): number | null {
  const one = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
  const ms = Number(one(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms >= 0 && one(headers['retry-after-ms']) !== undefined) return ms;
  return retryAfterMs(headers['retry-after']);
}

/**
 * One chat completion in `schema`; `correction` asks again after an answer that failed validation. Returns
 * the message's content, or its refusal.
 */
async function complete(
  settings: ProviderSettings,
  vehicle: Vehicle,
  messages: ConversationMessage[],
  schema: unknown,
  correction?: string,
): Promise<{ content: string } | { refusal: string }> {
  const body = {
    model: settings.model,
    messages: [
      { role: 'system', content: `${SYSTEM_PROMPT}\nVehicle: ${JSON.stringify(vehicle)}` },
      ...messages.map((m) => ({ role: m.role, content: m.content })),
      ...(correction
        ? [
            {
              role: 'system',
              content: `Your previous answer was invalid (${correction}). Answer again, exactly in the schema.`,
            },
          ]
        : []),
    ],
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'diagnosis_turn', schema, strict: true },
    },
  };
  let res;
  try {
    res = await request(`${settings.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      // The idle timeouts above do not end a provider that drips: the whole call has a deadline too.
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (error) {
    throw new ProviderError(`provider unreachable: ${(error as Error).message}`, true);
  }
  let text: string;
  try {
    text = (await readBody(res.body, res.headers, MAX_ANSWER_BYTES, 'fail')).toString('utf8');
  } catch (error) {
    // A cut, reset or oversized answer: the first two may go better next time, the others will not.
    const permanent = error instanceof TooLargeError || error instanceof UnsupportedEncodingError;
    throw new ProviderError(`provider answer unreadable: ${(error as Error).message}`, !permanent);
  }
  if (res.statusCode >= 400) {
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string; type?: string } }).error?.code ?? undefined;
    } catch {
      code = undefined;
    }
    const retryable =
      code !== 'insufficient_quota' &&
      [408, 409, 429].concat(res.statusCode >= 500 ? [res.statusCode] : []).includes(res.statusCode);
    throw new ProviderError(
      `provider answered ${res.statusCode}${code ? ` (${code})` : ''}`,
      retryable,
      retryable ? retryAfter(res.headers) : null,
      // The whole body: providers name the keyword in the message, the param or the details.
      res.statusCode === 400 && schema !== relaxed.schema ? namedKeywords(text, relaxed.removed) : [],
    );
  }
  let completion: { choices?: Array<{ message?: { content?: string | null; refusal?: string | null } }> };
  try {
    completion = JSON.parse(text);
  } catch {
    throw new ProviderError('provider answered 200 with a body that is not JSON', true);
  }
  const message = completion?.choices?.[0]?.message;
  return message?.refusal ? { refusal: message.refusal } : { content: message?.content ?? '' };
}

/** The validated turn, or what is wrong with the answer (the first five problems, for the correction). */
function readTurn(answer: { content: string } | { refusal: string }): { reply: Reply; extracted: boolean } | string {
  if ('refusal' in answer) return `the provider refused: ${answer.refusal}`;
  const found = extractJsonObject(answer.content);
  if (!found.ok) return found.problem;
  const parsed = ProviderTurn.safeParse(found.value);
  if (!parsed.success)
    return parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`)
      .join('; ');
  const turn = parsed.data;
  if (turn.type === 'diagnosis' && turn.diagnosis)
    return {
      reply: { type: 'diagnosis', text: turn.text, confidence: turn.confidence, diagnosis: turn.diagnosis },
      extracted: found.extracted,
    };
  if (turn.type === 'question')
    return { reply: { type: 'question', text: turn.text, confidence: turn.confidence }, extracted: found.extracted };
  return 'type "diagnosis" needs a diagnosis';
}

export type ProviderOutcome =
  /** `path`: how the answer came, for the stored model label: `json_schema[, relaxed][, extracted from prose]`. */
  | { ok: true; reply: Reply; path: string }
  /** The answer failed validation twice; `problem` says how, the last time. */
  | { ok: false; problem: string };

/**
 * The provider's next turn, validated with the full zod schema. A 400 naming validation keywords of the
 * schema is asked again once with them stripped (and the rest of this turn keeps that schema); an invalid
 * answer is asked again once with the problems. Throws `ProviderError` for HTTP and network failures.
 */
export async function providerReply(
  settings: ProviderSettings,
  vehicle: Vehicle,
  messages: ConversationMessage[],
): Promise<ProviderOutcome> {
  let schema: unknown = turnJsonSchema;
  const ask = async (correction?: string) => {
    try {
      return await complete(settings, vehicle, messages, schema, correction);
    } catch (error) {
      if (!(error instanceof ProviderError) || error.refusedKeywords.length === 0) throw error;
      schema = relaxed.schema;
      return complete(settings, vehicle, messages, schema, correction);
    }
  };
  let problem = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    const turn = readTurn(await ask(attempt === 0 ? undefined : problem));
    if (typeof turn === 'string') {
      problem = turn;
      continue;
    }
    const path = ['json_schema', schema === relaxed.schema && 'relaxed', turn.extracted && 'extracted from prose'];
    return { ok: true, reply: turn.reply, path: path.filter(Boolean).join(', ') };
  }
  return { ok: false, problem };
}
