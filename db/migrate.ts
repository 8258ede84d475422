import { loadConfig } from '../lib/config.js';
import { createDb, migrate } from './knex.js';

const db = createDb(loadConfig().databaseUrl, 1);
const applied = await migrate(db);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
await db.destroy();
