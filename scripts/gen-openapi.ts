import { writeFileSync } from 'node:fs';
import { generateOpenApi } from '../openapi/generate.js';

const { json, types } = await generateOpenApi();
writeFileSync('openapi/openapi.json', json);
writeFileSync('openapi/schema.d.ts', types);
console.log('wrote openapi/openapi.json and openapi/schema.d.ts');
