/**
 * The development mailbox: messages the embedded SMTP catcher (scripts/mailCatcher.ts) received, one JSON file
 * each in `MAILBOX_DIR`, read by the admin-only `GET /api/v1/dev/mailbox`. Never used in production.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CaughtMail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  /** ISO 8601. */
  received_at: string;
}

/** Writes `mail` into `dir` (created when missing) under a name that sorts by arrival. */
export async function keepCaughtMail(dir: string, mail: CaughtMail): Promise<void> {
  await mkdir(dir, { recursive: true });
  const name = `${mail.received_at.replace(/[:.]/g, '-')}_${mail.id}.json`;
  await writeFile(path.join(dir, name), JSON.stringify(mail));
}

/** The newest `limit` messages in `dir`, newest first, optionally only those to `to` (any letter case). */
export async function listCaughtMail(dir: string, limit: number, to?: string): Promise<CaughtMail[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const found: CaughtMail[] = [];
  for (const name of names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .reverse()) {
    if (found.length >= limit) break;
    const mail = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as CaughtMail;
    if (!to || mail.to.some((t) => t.toLowerCase() === to.toLowerCase())) found.push(mail);
  }
  return found;
}
