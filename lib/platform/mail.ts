/**
 * Outgoing email over SMTP (nodemailer): `SMTP_URL` names the server (`smtp://user:pass@host:587`,
 * `smtps://…:465`); `npm start` points it at its embedded catcher when unset (scripts/mailCatcher.ts).
 */
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Hands the message to the SMTP server; rejects with the transport's error (connection, refusal). */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** A mailer sending from `from` through `smtpUrl`; without a URL every send rejects, naming the variable. */
export function createMailer(smtpUrl: string | undefined, from: string): Mailer {
  const transport = smtpUrl ? nodemailer.createTransport(smtpUrl) : undefined;
  return {
    async send(mail) {
      if (!transport) throw new Error('SMTP_URL is not set: no email can be sent');
      await transport.sendMail({ from, ...mail });
    },
    close() {
      transport?.close();
    },
  };
}
