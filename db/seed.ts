/** Idempotent demo data for `npm start`: logins, a demo merchant with a key and webhook secret. */
import { createHmac } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';
import type { Config } from '../lib/config.js';
import { decryptSecret, sha256 } from '../lib/crypto.js';
import { createMerchant, issueApiKey } from './merchants.js';
import { ApiKey } from './models/ApiKey.js';
import { Merchant } from './models/Merchant.js';
import { User, type Role } from './models/User.js';

export const DEMO_MERCHANT_NAME = 'Demo Shop';

export interface SeedResult {
  logins: Array<{ email: string; password: string; role: Role }>;
  merchant: { id: string; apiKey: string; webhookSecret: string };
}

export async function seed(db: Knex, config: Config): Promise<SeedResult> {
  const logins = [
    { email: 'admin@meridian.local', password: process.env.SEED_ADMIN_PASSWORD ?? 'meridian-admin', role: 'admin' as const },
    { email: 'operator@meridian.local', password: process.env.SEED_OPERATOR_PASSWORD ?? 'meridian-operator', role: 'operator' as const },
  ];
  return db.transaction(async (trx) => {
    for (const login of logins) {
      const existing = await User.query(trx).findOne({ email: login.email });
      if (!existing) await User.query(trx).insert({ email: login.email, password_hash: await bcrypt.hash(login.password, 10), role: login.role });
    }
    // The demo key is derived from this installation's secret: stable across restarts, unknown elsewhere.
    const demoKey = `mk_test_${createHmac('sha256', config.jwtSecret).update('demo-merchant-key').digest('base64url')}`;
    let merchant = await Merchant.query(trx).findOne({ name: DEMO_MERCHANT_NAME });
    merchant ??= (await createMerchant({ name: DEMO_MERCHANT_NAME }, config.secretsKey, trx)).merchant;
    if (!(await ApiKey.query(trx).findOne({ key_hash: sha256(demoKey) }))) await issueApiKey(merchant.id, 'demo', demoKey, trx);
    return {
      logins,
      merchant: { id: merchant.id, apiKey: demoKey, webhookSecret: decryptSecret(merchant.webhook_secret_enc, config.secretsKey) },
    };
  });
}
