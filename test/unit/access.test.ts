import { describe, expect, it } from 'vitest';
import { allows } from '../../api/route.js';
import type { Principal } from '../../api/context.js';

const admin: Principal = { kind: 'user', userId: 'u1', role: 'admin', modules: [] };
const operator: Principal = { kind: 'user', userId: 'u2', role: 'operator', modules: [] };
const merchant: Principal = { kind: 'merchant', merchantId: 'm1', apiKeyId: 'k1' };

describe('route access', () => {
  it('public routes admit anyone', () => {
    for (const p of [undefined, admin, operator, merchant]) expect(allows(['public'], p)).toBe(true);
  });
  it('admin routes admit only admins', () => {
    expect(allows(['admin'], admin)).toBe(true);
    expect(allows(['admin'], operator)).toBe(false);
    expect(allows(['admin'], merchant)).toBe(false);
    expect(allows(['admin'], undefined)).toBe(false);
  });
  it('operator routes admit every console user but no merchant key', () => {
    expect(allows(['operator'], admin)).toBe(true);
    expect(allows(['operator'], operator)).toBe(true);
    expect(allows(['operator'], merchant)).toBe(false);
  });
  it('merchant routes admit keys only when listed', () => {
    expect(allows(['merchant'], merchant)).toBe(true);
    expect(allows(['merchant'], operator)).toBe(false);
    expect(allows(['operator', 'merchant'], merchant)).toBe(true);
  });
});
