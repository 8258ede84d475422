/** A real SMTP server on loopback for the account tests (scripts/mailCatcher.ts), keeping what it receives. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { keepCaughtMail, type CaughtMail } from '../lib/platform/mailbox.js';
import { startMailCatcher } from '../scripts/mailCatcher.js';

export async function startInbox() {
  const messages: CaughtMail[] = [];
  /** Also kept as the development mailbox would be (MAILBOX_DIR), for the mailbox route. */
  const dir = await mkdtemp(path.join(tmpdir(), 'meridian-mailbox-'));
  const catcher = await startMailCatcher({
    onMail: async (mail) => {
      await keepCaughtMail(dir, mail);
      messages.push(mail);
    },
  });
  const to = (email: string) => messages.filter((m) => m.to.includes(email));
  return {
    url: catcher.url,
    dir,
    messages,
    to,
    /** Waits until `email` has received `count` messages; the newest. */
    async next(email: string, count = 1): Promise<CaughtMail> {
      await expect.poll(() => to(email).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(count);
      return to(email)[count - 1];
    },
    stop: catcher.stop,
  };
}

/** The 6-digit code of a verification email. */
export const codeOf = (mail: CaughtMail) => /\b(\d{6})\b/.exec(mail.subject)![1];

/** The reset token of a password-reset email's link. */
export const resetTokenOf = (mail: CaughtMail) => /#token=([\w-]+)/.exec(mail.text)![1];
