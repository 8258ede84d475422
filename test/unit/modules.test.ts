import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allows, missingModule } from '../../api/route.js';
import type { Principal } from '../../api/context.js';
import {
  effectiveModules,
  isModule,
  moduleOfEvent,
  moduleOfTag,
  MODULES,
  userMaySeeEvent,
  type Module,
} from '../../lib/accounts/modules.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('modules of routes and events', () => {
  it('maps every business tag to its module and the platform tags to none', () => {
    expect(['payments', 'merchants', 'webhooks'].map(moduleOfTag)).toEqual(['payments', 'payments', 'payments']);
    for (const m of ['monitors', 'cot', 'diagnosis', 'booking', 'companies']) expect(moduleOfTag(m)).toBe(m);
    for (const tag of ['auth', 'system', 'events', 'users', 'something-new']) expect(moduleOfTag(tag)).toBeNull();
  });

  it('every tag of the generated document is either a module tag or one of the known module-free ones', () => {
    const spec = JSON.parse(readFileSync(path.join(root, 'openapi', 'openapi.json'), 'utf8'));
    const tags = new Set<string>(
      Object.values(spec.paths as Record<string, Record<string, { tags?: string[] }>>).flatMap((item) =>
        Object.values(item).flatMap((op) => op.tags ?? []),
      ),
    );
    const moduleFree = ['auth', 'system', 'events', 'users'];
    for (const tag of tags) expect(moduleOfTag(tag) !== null || moduleFree.includes(tag), tag).toBe(true);
  });

  it('maps the event types the features publish by their first segment', () => {
    const cases: Array<[string, string | null]> = [
      ['payment_intent.succeeded', 'payments'],
      ['webhook.attempted', 'payments'],
      ['webhook_endpoint.disabled', 'payments'],
      ['monitor.alert', 'monitors'],
      ['cot.run.finished', 'cot'],
      ['diagnosis.message', 'diagnosis'],
      ['appointment.held', 'booking'],
      ['company.changed', 'companies'],
      ['user.access_changed', null],
      ['payments.lookalike', null],
    ];
    for (const [type, module] of cases) expect(moduleOfEvent(type), type).toBe(module);
  });

  it('an operator sees events of held modules only; an admin sees all, unmapped ones too', () => {
    expect(userMaySeeEvent('operator', ['booking'], 'appointment.held')).toBe(true);
    expect(userMaySeeEvent('operator', ['booking'], 'payment_intent.created')).toBe(false);
    expect(userMaySeeEvent('operator', [...MODULES], 'test.unmapped')).toBe(false);
    expect(userMaySeeEvent('admin', [], 'payment_intent.created')).toBe(true);
    expect(userMaySeeEvent('admin', [], 'test.unmapped')).toBe(true);
  });

  it('admins hold every module; operators what was granted, in list order, unknown names dropped', () => {
    expect(effectiveModules('admin', [])).toEqual([...MODULES]);
    expect(effectiveModules('operator', ['cot', 'payments', 'nonsense'])).toEqual(['payments', 'cot']);
    expect(isModule('cot')).toBe(true);
    expect(isModule('users')).toBe(false);
  });
});

describe('route access with modules', () => {
  const operator = (modules: Module[]): Principal => ({ kind: 'user', userId: 'u', role: 'operator', modules });
  const admin = { kind: 'user', userId: 'a', role: 'admin', modules: [...MODULES] } as Principal;
  const merchant = { kind: 'merchant', merchantId: 'm', apiKeyId: 'k' } as Principal;

  it('an operator needs the route’s module as well as the role', () => {
    expect(allows(['operator'], operator(['cot']), 'cot')).toBe(true);
    expect(allows(['operator'], operator(['cot']), 'payments')).toBe(false);
    expect(allows(['operator'], operator([]), null)).toBe(true);
    expect(allows(['admin'], operator(['payments']), 'payments')).toBe(false);
    expect(missingModule(operator(['cot']), 'payments')).toBe('payments');
    expect(missingModule(operator(['cot']), 'cot')).toBeNull();
  });

  it('admins pass every module; merchant keys and public routes are not about modules', () => {
    for (const m of MODULES) expect(allows(['admin'], admin, m)).toBe(true);
    expect(allows(['operator', 'merchant'], merchant, 'monitors')).toBe(true);
    expect(missingModule(merchant, 'monitors')).toBeNull();
    expect(allows(['public', 'operator'], operator([]), 'booking')).toBe(true);
    expect(allows(['operator'], undefined, 'booking')).toBe(false);
  });
});
