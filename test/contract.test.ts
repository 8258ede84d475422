import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildApi } from '../api/app.js';
import type { ApiDeps } from '../api/deps.js';
import { generateOpenApi } from '../openapi/generate.js';

describe('OpenAPI contract', () => {
  it('every router route is in the spec and every spec operation is routed', () => {
    const api = buildApi({} as ApiDeps);
    const routed = api.router.stack.flatMap((layer) =>
      layer.methods
        .filter((m) => m !== 'HEAD')
        .map((m) => `${m.toLowerCase()} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
    );
    const spec = api.document();
    const documented = Object.entries(spec.paths ?? {}).flatMap(([path, ops]) =>
      Object.keys(ops as object).map((m) => `${m} ${path}`),
    );
    expect(routed.length).toBeGreaterThan(10);
    expect(new Set(routed)).toEqual(new Set(documented));
  });

  it('the committed openapi.json and schema.d.ts are up to date (run `npm run gen`)', async () => {
    const { json, types } = await generateOpenApi();
    expect(readFileSync('openapi/openapi.json', 'utf8')).toBe(json);
    expect(readFileSync('openapi/schema.d.ts', 'utf8')).toBe(types);
  });

  it('every non-public operation declares bearer security and who may call it', () => {
    const spec = buildApi({} as ApiDeps).document();
    for (const [path, ops] of Object.entries(spec.paths ?? {})) {
      for (const [method, op] of Object.entries(
        ops as Record<string, { security?: unknown[]; 'x-access'?: string[] }>,
      )) {
        expect(op['x-access'], `${method} ${path}`).toBeInstanceOf(Array);
        expect(op.security?.length ? 'secured' : 'public', `${method} ${path}`).toBe(
          op['x-access']!.includes('public') ? 'public' : 'secured',
        );
      }
    }
  });
});
