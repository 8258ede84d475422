/** The operations of openapi/openapi.json, in the shape the fuzz suite needs. */
import { readFileSync } from 'node:fs';
import type { JsonSchema } from './arbitraries.js';

export type Access = 'public' | 'operator' | 'admin' | 'merchant';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  /** `post /api/v1/payments/{id}/cancel`. */
  key: string;
  method: string;
  path: string;
  access: Access[];
  /** Status codes the operation documents. */
  documented: Set<number>;
  params: Parameter[];
  body?: JsonSchema;
}

interface RawOperation {
  'x-access': Access[];
  responses: Record<string, unknown>;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

type Document = {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

/** Inlines `#/components/schemas/…` references. */
function deref(schema: JsonSchema, doc: Document, seen = new Set<string>()): JsonSchema {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    if (seen.has(name)) return {};
    return deref(doc.components!.schemas![name], doc, new Set([...seen, name]));
  }
  const out: JsonSchema = { ...schema };
  if (schema.properties)
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, deref(s, doc, seen)]));
  if (schema.items) out.items = deref(schema.items, doc, seen);
  if (schema.anyOf) out.anyOf = schema.anyOf.map((s) => deref(s, doc, seen));
  if (schema.oneOf) out.oneOf = schema.oneOf.map((s) => deref(s, doc, seen));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
    out.additionalProperties = deref(schema.additionalProperties, doc, seen);
  return out;
}

export function loadOperations(file = 'openapi/openapi.json'): Operation[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Document;
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content['application/json']?.schema;
      operations.push({
        key: `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        access: op['x-access'],
        documented: new Set(Object.keys(op.responses).map(Number)),
        params: (op.parameters ?? []).map((p) => ({
          ...p,
          required: p.required ?? false,
          schema: deref(p.schema, doc),
        })),
        body: body && deref(body, doc),
      });
    }
  }
  return operations;
}
