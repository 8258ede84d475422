/**
 * A local OpenAI-compatible chat-completions server: real request and response shapes, structured
 * output in `message.content`, and the provider's error shapes (429 with retry-after-ms, 500,
 * insufficient_quota, answers that are not valid JSON or not in the schema), and providers that bend the
 * format (a valid turn in a ```json fence or in prose; a 400 for schema keywords it does not support, in
 * OpenAI's wording). It plays a script.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Step =
  'answer' | 'fenced' | 'prose' | 'rate_limited' | 'server_error' | 'quota' | 'invalid_json' | 'wrong_schema';

/** Every key used anywhere in a JSON value (for a schema: its keywords and property names). */
const keysOf = (value: unknown): string[] =>
  typeof value !== 'object' || value === null
    ? []
    : Object.entries(value).flatMap(([k, v]) => (Array.isArray(value) ? keysOf(v) : [k, ...keysOf(v)]));

const diagnosis = {
  possible_causes: [
    { cause: 'Worn brake pads', probability: 0.8, explanation: 'Grinding under braking.' },
    { cause: 'Scored brake discs', probability: 0.2, explanation: 'Often follows worn pads.' },
  ],
  severity: 'high',
  recommended_actions: ['Replace the front brake pads'],
  estimated_cost_min: 150,
  estimated_cost_max: 400,
  currency: 'USD',
  urgent_workshop_visit: true,
  confidence: 0.82,
};

export async function startLlm() {
  const requests: Array<{ at: number; headers: Record<string, unknown>; body: any }> = [];
  const script: Step[] = [];
  /** JSON-Schema keywords this provider refuses: a request whose schema uses one is answered 400 naming it. */
  const unsupportedKeywords: string[] = [];
  const completion = (content: string) => ({
    id: `chatcmpl-${requests.length}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  });
  const error = (message: string, type: string, code: string | null) =>
    JSON.stringify({ error: { message, type, param: null, code } });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push({ at: Date.now(), headers: req.headers, body });
      const json = { 'content-type': 'application/json' };
      const used = keysOf(body.response_format?.json_schema?.schema);
      const refused = unsupportedKeywords.find((k) => used.includes(k));
      if (refused)
        return void res
          .writeHead(400, json)
          .end(
            error(
              `Invalid schema for response_format 'diagnosis_turn': In context=(), '${refused}' is not permitted.`,
              'invalid_request_error',
              null,
            ),
          );
      const step = script.shift() ?? 'answer';
      if (step === 'rate_limited')
        return void res
          .writeHead(429, { ...json, 'retry-after-ms': '300' })
          .end(error('Rate limit reached', 'requests', 'rate_limit_exceeded'));
      if (step === 'server_error')
        return void res.writeHead(500, json).end(error('The server had an error', 'server_error', null));
      if (step === 'quota')
        return void res
          .writeHead(429, json)
          .end(error('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota'));
      if (step === 'invalid_json')
        return void res.writeHead(200, json).end(JSON.stringify(completion('Sure! The pads {')));
      if (step === 'wrong_schema')
        return void res
          .writeHead(200, json)
          .end(
            JSON.stringify(
              completion(JSON.stringify({ type: 'diagnosis', text: 'Pads', confidence: 2, diagnosis: null })),
            ),
          );
      const users = body.messages.filter((m: { role: string }) => m.role === 'user').length;
      const turn =
        users < 2
          ? { type: 'question', text: 'Does it happen only when braking?', confidence: 0.4, diagnosis: null }
          : { type: 'diagnosis', text: 'Most likely worn brake pads.', confidence: 0.82, diagnosis };
      const content =
        step === 'fenced'
          ? `\`\`\`json\n${JSON.stringify(turn, null, 2)}\n\`\`\``
          : step === 'prose'
            ? `Sure! Here is the next turn {as asked}:\n${JSON.stringify(turn)}\nHope that helps.`
            : JSON.stringify(turn);
      res.writeHead(200, json).end(JSON.stringify(completion(content)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    script,
    unsupportedKeywords,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
