import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProviderTurn } from '../../lib/diagnosis/provider.js';
import {
  CONSTRAINT_KEYWORDS,
  extractJsonObject,
  namedKeywords,
  relaxSchema,
} from '../../lib/diagnosis/structuredOutput.js';

const turn = {
  type: 'question',
  text: 'Does it squeal {or grind}? Say "yes" or \\"no\\"',
  confidence: 0.4,
  diagnosis: null,
};
const json = JSON.stringify(turn);

describe('the one JSON object in an answer', () => {
  it.each<[string, string, unknown, boolean]>([
    ['the whole answer', json, turn, false],
    ['the whole answer, spaced', `\n  ${JSON.stringify(turn, null, 2)}  \n`, turn, false],
    ['a ```json fence', `\`\`\`json\n${JSON.stringify(turn, null, 2)}\n\`\`\``, turn, true],
    ['a bare ``` fence', `\`\`\`\n${json}\n\`\`\``, turn, true],
    ['leading and trailing prose', `Here is my answer: ${json} Hope this helps!`, turn, true],
    ['prose with braces that are not JSON', `Sure {as asked}:\n${json}\n(end}`, turn, true],
    ['an unmatched brace in the prose before', `The pads { hmm.\n\`\`\`json\n${json}\n\`\`\``, turn, true],
    ['the outermost of nested objects', `Answer: {"outer": ${json}}`, { outer: turn }, true],
  ])('found in %s', (_name, answer, value, extracted) => {
    expect(extractJsonObject(answer)).toEqual({ ok: true, value, extracted });
  });

  it.each<[string, string, string]>([
    ['no object at all', 'Sure! The pads {', 'no JSON object in the answer'],
    ['braces that are not JSON', 'Maybe {this} or {that}', 'no JSON object in the answer'],
    ['two objects: which one?', `First ${json} then ${json}`, '2 JSON objects in the answer'],
    ['JSON that is not an object', '[1, 2]', 'the answer is JSON but not an object'],
    ['an empty answer', '', 'no JSON object in the answer'],
  ])('refused for %s', (_name, answer, problem) => {
    expect(extractJsonObject(answer)).toEqual({ ok: false, problem });
  });

  it('is linear: a long run of unmatched braces is scanned at once', () => {
    const started = performance.now();
    expect(extractJsonObject('{'.repeat(200_000) + json).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('a schema without the keywords a provider refuses', () => {
  const full = z.toJSONSchema(ProviderTurn) as Record<string, any>;

  it('strips every constraint keyword at any depth and keeps the structure', () => {
    const { schema, removed } = relaxSchema(full) as { schema: Record<string, any>; removed: string[] };
    expect(removed.sort()).toEqual(['maxItems', 'maxLength', 'maximum', 'minItems', 'minLength', 'minimum', 'pattern']);
    const text = JSON.stringify(schema);
    for (const k of CONSTRAINT_KEYWORDS) expect(text).not.toContain(`"${k}"`);
    expect(schema.required).toEqual(full.required);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.text).toEqual({ type: 'string' });
    const diagnosis = schema.properties.diagnosis.anyOf[0];
    expect(diagnosis.properties.possible_causes.items.properties.probability).toEqual({ type: 'number' });
    expect(diagnosis.properties.severity.enum).toEqual(['low', 'medium', 'high', 'critical']);
    expect(full.properties.text.maxLength).toBe(4000); // the input is left as it was
  });

  it.each<[string, unknown, unknown]>([
    [
      'property names are data, not keywords',
      { type: 'object', properties: { format: { type: 'string', format: 'date' }, pattern: { minLength: 2 } } },
      { type: 'object', properties: { format: { type: 'string' }, pattern: {} } },
    ],
    [
      'definitions, tuples and conditionals',
      {
        $defs: { n: { type: 'integer', multipleOf: 5 } },
        items: [{ maxLength: 1 }],
        if: { minimum: 1 },
        then: { exclusiveMaximum: 3 },
        not: { uniqueItems: true },
      },
      { $defs: { n: { type: 'integer' } }, items: [{}], if: {}, then: {}, not: {} },
    ],
    [
      'enum and const values stay as they are',
      { enum: [{ maxLength: 1 }], const: { pattern: 'x' }, default: { minimum: 0 } },
      { enum: [{ maxLength: 1 }], const: { pattern: 'x' }, default: { minimum: 0 } },
    ],
    ['boolean schemas', { additionalProperties: true, items: false }, { additionalProperties: true, items: false }],
  ])('%s', (_name, input, expected) => {
    expect(relaxSchema(input).schema).toEqual(expected);
  });
});

describe('keywords named by a provider error', () => {
  const ours = ['maxLength', 'minimum', 'pattern', 'format'];
  it.each<[string, string, string[]]>([
    ['OpenAI', "Invalid schema for response_format 'diagnosis_turn': 'maxLength' is not permitted.", ['maxLength']],
    ['double-quoted', 'Invalid JSON payload received. Unknown name "minimum" at \'generation_config\'', ['minimum']],
    ['several', 'keywords pattern, minimum are not supported', ['minimum', 'pattern']],
    ['response_format does not name format', "response_format: 'json_schema' is not supported", []],
    ['a longer word does not name maxLength', 'maxLengthy is not supported', []],
    ['nothing', 'Invalid model', []],
  ])('%s', (_name, text, expected) => {
    expect(namedKeywords(text, ours)).toEqual(expected);
  });
});
