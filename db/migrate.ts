import { loadConfig } from '../lib/platform/config.js';
import { migrate, openDb, releaseDb } from './knex.js';

const db = openDb(loadConfig().databaseUrl, 1);
const applied = await migrate(db);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
await releaseDb(db);
