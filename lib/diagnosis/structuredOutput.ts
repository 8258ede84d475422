/**
 * Tolerating providers that bend the structured-output format: the one JSON object in an answer wrapped in a
 * fence or in prose, and a JSON Schema without the validation keywords some providers refuse. Pure: the answer
 * is still validated with the full zod schema by the caller.
 */

export type ExtractedObject =
  /** `extracted`: the object was found inside a fence or prose rather than being the whole answer. */
  { ok: true; value: Record<string, unknown>; extracted: boolean } | { ok: false; problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parsed(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return null;
  }
}

/**
 * The single JSON object in a model's answer: the whole answer, or — for a ```` ```json ```` fence or prose
 * around it — the one outermost `{…}` that parses as JSON, found by a balanced-brace scan that ignores braces
 * inside JSON strings (linear in the answer's length). Fails, saying why, with no object, with several
 * (ambiguous: which one was meant?), or when the whole answer is JSON but not an object.
 */
export function extractJsonObject(answer: string): ExtractedObject {
  const whole = parsed(answer.trim());
  if (whole) {
    return isObject(whole.value)
      ? { ok: true, value: whole.value, extracted: false }
      : { ok: false, problem: 'the answer is JSON but not an object' };
  }
  // Every balanced {…} span, in the order each closes; prose's own braces and quotes outside them are skipped.
  const spans: Array<[number, number]> = [];
  const open: number[] = [];
  let inString = false;
  for (let i = 0; i < answer.length; i++) {
    const c = answer[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && open.length > 0) inString = true;
    else if (c === '{') open.push(i);
    else if (c === '}' && open.length > 0) spans.push([open.pop()!, i]);
  }
  // Outermost spans only (an unmatched `{` in the prose before the object leaves it outermost still).
  spans.sort((a, b) => a[0] - b[0]);
  const objects: Array<Record<string, unknown>> = [];
  let end = -1;
  for (const [from, to] of spans) {
    if (from < end) continue;
    end = to;
    const candidate = parsed(answer.slice(from, to + 1));
    if (candidate && isObject(candidate.value)) objects.push(candidate.value);
  }
  if (objects.length === 1) return { ok: true, value: objects[0], extracted: true };
  return {
    ok: false,
    problem: objects.length === 0 ? 'no JSON object in the answer' : `${objects.length} JSON objects in the answer`,
  };
}

/**
 * Validation keywords that OpenAI-compatible providers' structured output may refuse (OpenAI's strict mode did
 * for years; Gemini, Groq and some vLLM builds still do). They only narrow values, which zod checks anyway.
 */
export const CONSTRAINT_KEYWORDS = [
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minContains',
  'maxContains',
  'minProperties',
  'maxProperties',
] as const;
const constraint = new Set<string>(CONSTRAINT_KEYWORDS);

// Where a JSON Schema (2020-12, and draft-07's `definitions`/`items: [...]`) holds subschemas rather than data.
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SUBSCHEMAS = new Set([
  'items',
  'prefixItems',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
  'propertyNames',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
]);

/**
 * The schema without `CONSTRAINT_KEYWORDS` at any depth, and which of them it had. Property names are data,
 * not keywords: a property called `format` stays. Returns a copy; the input is not changed.
 */
export function relaxSchema(schema: unknown): { schema: unknown; removed: string[] } {
  const removed = new Set<string>();
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (constraint.has(key)) removed.add(key);
      else if (SCHEMA_MAPS.has(key) && isObject(value))
        out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, walk(sub)]));
      else out[key] = SUBSCHEMAS.has(key) ? walk(value) : value;
    }
    return out;
  };
  const relaxed = walk(schema);
  return { schema: relaxed, removed: [...removed] };
}

/**
 * Which of `keywords` a provider's error text names as whole words (`'maxLength' is not permitted`,
 * `Unknown name "minimum"`): the sign that it refused the schema for them, not the request.
 */
export function namedKeywords(errorText: string, keywords: readonly string[]): string[] {
  // `\b` counts `_` as a word character, so `response_format` does not name `format`.
  return keywords.filter((k) => new RegExp(`\\b${k}\\b`).test(errorText));
}
