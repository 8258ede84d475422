/** Idempotent demo data for `npm start`: logins, a demo merchant with a key and webhook secret. */
import { createHmac } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';
import type { Config } from '../lib/platform/config.js';
import { decryptSecret, sha256 } from '../lib/platform/crypto.js';
import { createMerchant, issueApiKey } from './merchants.js';
import { ApiKey } from './models/ApiKey.js';
import { Merchant } from './models/Merchant.js';
import { User, type Role } from './models/User.js';
import { grantModules } from './users.js';
import { MODULES } from '../lib/accounts/modules.js';
import { Mechanic, Service, Workshop, WorkingHours } from './models/Workshop.js';

export const DEMO_MERCHANT_NAME = 'Demo Shop';
export const DEMO_WORKSHOP_NAME = 'Meridian Motors';

export interface SeedResult {
  logins: Array<{ email: string; password: string; role: Role }>;
  merchant: { id: string; apiKey: string; webhookSecret: string };
  workshop: { id: string; mechanics: string[] };
}

async function seedWorkshop(trx: Knex.Transaction): Promise<SeedResult['workshop']> {
  let workshop = await Workshop.query(trx).findOne({ name: DEMO_WORKSHOP_NAME });
  if (!workshop) {
    workshop = await Workshop.query(trx).insertAndFetch({
      name: DEMO_WORKSHOP_NAME,
      address: '12 Khreshchatyk St, Kyiv',
      time_zone: 'Europe/Kyiv',
      phone: '+380 44 000 0000',
      email: 'service@meridian-motors.example',
    });
    await Mechanic.query(trx).insert([
      { workshop_id: workshop.id, name: 'Olena Kovalenko' },
      { workshop_id: workshop.id, name: 'Taras Shevchuk' },
    ]);
    const weekdays = [1, 2, 3, 4, 5].map((weekday) => ({
      workshop_id: workshop!.id,
      weekday,
      opens: '09:00',
      closes: '18:00',
      break_start: '13:00',
      break_end: '14:00',
    }));
    await WorkingHours.query(trx).insert([
      ...weekdays,
      { workshop_id: workshop.id, weekday: 6, opens: '10:00', closes: '14:00' },
    ]);
  }
  // Added on their own so a database seeded before booking existed gets them too.
  if (!(await Service.query(trx).findOne({ workshop_id: workshop.id }))) {
    await Service.query(trx).insert([
      {
        workshop_id: workshop.id,
        name: 'Oil change',
        duration_min: 30,
        buffer_after_min: 15,
        price_min: 1200,
        price_max: 2500,
        currency: 'UAH',
      },
      {
        workshop_id: workshop.id,
        name: 'Diagnostics',
        duration_min: 60,
        buffer_after_min: 15,
        price_min: 800,
        price_max: 1500,
        currency: 'UAH',
      },
      {
        workshop_id: workshop.id,
        name: 'Brake pads',
        duration_min: 90,
        buffer_before_min: 15,
        buffer_after_min: 15,
        price_min: 2500,
        price_max: 6000,
        currency: 'UAH',
      },
    ]);
  }
  const mechanics = await Mechanic.query(trx).where({ workshop_id: workshop.id }).orderBy('name');
  return { id: workshop.id, mechanics: mechanics.map((m) => m.name) };
}

export async function seed(db: Knex, config: Config): Promise<SeedResult> {
  const logins = [
    {
      email: 'admin@meridian.local',
      password: process.env.SEED_ADMIN_PASSWORD ?? 'meridian-admin',
      role: 'admin' as const,
    },
    {
      email: 'operator@meridian.local',
      password: process.env.SEED_OPERATOR_PASSWORD ?? 'meridian-operator',
      role: 'operator' as const,
    },
  ];
  return db.transaction(async (trx) => {
    for (const login of logins) {
      const existing = await User.query(trx).findOne({ email: login.email });
      if (existing) continue;
      const user = await User.query(trx).insert({
        email: login.email,
        password_hash: await bcrypt.hash(login.password, 10),
        role: login.role,
      });
      // Demo logins may use every module (only when made: an admin's later revocation stays).
      await grantModules(trx, user.id, MODULES, null);
    }
    // The demo key is derived from this installation's secret: stable across restarts, unknown elsewhere.
    const demoKey = `mk_test_${createHmac('sha256', config.jwtSecret).update('demo-merchant-key').digest('base64url')}`;
    let merchant = await Merchant.query(trx).findOne({ name: DEMO_MERCHANT_NAME });
    merchant ??= (await createMerchant({ name: DEMO_MERCHANT_NAME }, config.secretsKey, trx)).merchant;
    if (!(await ApiKey.query(trx).findOne({ key_hash: sha256(demoKey) })))
      await issueApiKey(merchant.id, 'demo', demoKey, trx);
    return {
      logins,
      workshop: await seedWorkshop(trx),
      merchant: {
        id: merchant.id,
        apiKey: demoKey,
        webhookSecret: decryptSecret(merchant.webhook_secret_enc, config.secretsKey),
      },
    };
  });
}
