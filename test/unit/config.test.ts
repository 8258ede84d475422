import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/platform/config.js';

const base = {
  DATABASE_URL: 'postgres://x@127.0.0.1/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  JWT_SECRET: 'x'.repeat(40),
  SECRETS_KEY: randomBytes(32).toString('base64'),
};

describe('configuration', () => {
  it('applies defaults', () => {
    const c = loadConfig(base);
    expect(c.port).toBe(3000);
    expect(c.temporal.taskQueue).toBe('meridian');
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.corsOrigins).toContain('http://localhost:3000');
  });
  it('names every invalid variable', () => {
    expect(() => loadConfig({ ...base, PORT: 'abc', DATABASE_URL: '' })).toThrow(
      /PORT.*DATABASE_URL|DATABASE_URL.*PORT/,
    );
  });
  it('refuses to invent secrets in production', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: undefined })).toThrow(/production/);
  });
  it('rejects a secrets key of the wrong size', () => {
    expect(() => loadConfig({ ...base, SECRETS_KEY: randomBytes(16).toString('base64') })).toThrow(/32 bytes/);
  });
});
