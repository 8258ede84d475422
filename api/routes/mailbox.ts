/**
 * The development mailbox: what `npm start`'s embedded SMTP catcher received (lib/platform/mailbox.ts), for admins,
 * so a sign-up can be finished on one machine without a real mail server. 404 unless that catcher runs
 * (`MAILBOX_DIR`, never in production).
 */
import { z } from 'zod';
import { listCaughtMail } from '../../lib/platform/mailbox.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Api } from '../route.js';

const CaughtMail = z
  .object({
    id: z.string(),
    from: z.string(),
    to: z.array(z.string()),
    subject: z.string(),
    text: z.string(),
    html: z.string().nullable(),
    received_at: z.string(),
  })
  .meta({ id: 'CaughtMail' });

export function mailboxRoutes(api: Api, { config }: ApiDeps) {
  api.route({
    method: 'get',
    path: '/api/v1/dev/mailbox',
    summary: "Development only: the embedded SMTP catcher's messages, newest first",
    tag: 'auth',
    access: ['admin'],
    query: z.object({ to: z.string().max(254).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    responses: {
      200: { description: 'Messages', schema: z.object({ data: z.array(CaughtMail) }) },
      404: { description: '`mailbox_disabled`: no embedded SMTP catcher runs (SMTP_URL is set, or production)' },
    },
    handler: async (ctx, { query }) => {
      const dir = config.mail.mailboxDir;
      if (!dir) throw new ApiError(404, 'mailbox_disabled', 'No development mailbox: email goes to SMTP_URL');
      ctx.body = { data: await listCaughtMail(dir, query.limit, query.to) };
    },
  });
}
