/**
 * The emails of self-service accounts, in English or Polish (the user's `language`): each a subject, a plain-text
 * body and an HTML body carrying the same words. Pure: the activity that sends them supplies the data.
 */

export type Language = 'en' | 'pl';
export const LANGUAGES: readonly Language[] = ['en', 'pl'];

export type AccountEmail =
  | { kind: 'verify_email'; code: string; validMinutes: number }
  | { kind: 'password_reset'; link: string; validMinutes: number }
  | { kind: 'already_registered'; signInUrl: string; resetUrl: string };

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

interface Words {
  subject: string;
  greeting: string;
  /** Paragraphs; `{code}` and `{link}` are placed apart, never interpolated into HTML unescaped. */
  lines: string[];
  highlight?: { label: string; value: string; href?: string };
  closing: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function words(email: AccountEmail, lang: Language, name: string): Words {
  const pl = lang === 'pl';
  const greeting = pl ? `Dzień dobry${name ? `, ${name}` : ''},` : `Hello${name ? ` ${name}` : ''},`;
  const closing = pl ? 'Zespół Meridian' : 'The Meridian team';
  switch (email.kind) {
    case 'verify_email':
      return {
        subject: pl
          ? `Twój kod weryfikacyjny Meridian: ${email.code}`
          : `Your Meridian verification code: ${email.code}`,
        greeting,
        lines: pl
          ? [
              `Wpisz ten kod, aby potwierdzić adres e-mail. Kod jest ważny przez ${email.validMinutes} min.`,
              'Jeśli to nie Ty zakładałeś konto, zignoruj tę wiadomość.',
            ]
          : [
              `Enter this code to confirm your email address. It is valid for ${email.validMinutes} minutes.`,
              'If you did not sign up, ignore this message.',
            ],
        highlight: { label: pl ? 'Kod' : 'Code', value: email.code },
        closing,
      };
    case 'password_reset':
      return {
        subject: pl ? 'Reset hasła Meridian' : 'Reset your Meridian password',
        greeting,
        lines: pl
          ? [
              `Otwórz ten link, aby ustawić nowe hasło. Link działa raz, przez ${email.validMinutes} min.`,
              'Jeśli nie prosiłeś o reset, zignoruj tę wiadomość: hasło się nie zmieni.',
            ]
          : [
              `Open this link to choose a new password. It works once, for ${email.validMinutes} minutes.`,
              'If you did not ask for a reset, ignore this message: your password stays as it is.',
            ],
        highlight: { label: pl ? 'Link' : 'Link', value: email.link, href: email.link },
        closing,
      };
    case 'already_registered':
      return {
        subject: pl ? 'Masz już konto Meridian' : 'You already have a Meridian account',
        greeting,
        lines: pl
          ? [
              'Ktoś (być może Ty) próbował założyć konto na ten adres e-mail, ale konto już istnieje.',
              `Zaloguj się: ${email.signInUrl}. Nie pamiętasz hasła? ${email.resetUrl}`,
            ]
          : [
              'Someone (perhaps you) tried to sign up with this email address, but an account already exists.',
              `Sign in at ${email.signInUrl}. Forgot your password? ${email.resetUrl}`,
            ],
        closing,
      };
  }
}

/** The email `email` in `lang`, addressed to `name` (a display name; empty for none). */
export function renderAccountEmail(email: AccountEmail, lang: Language, name = ''): RenderedEmail {
  const w = words(email, lang, name);
  const highlightText = w.highlight ? [`${w.highlight.label}: ${w.highlight.value}`] : [];
  const text = [w.greeting, '', ...w.lines.flatMap((l) => [l, '']), ...highlightText, '', w.closing].join('\n');
  const highlightHtml = w.highlight
    ? w.highlight.href
      ? `<p><a href="${escapeHtml(w.highlight.href)}">${escapeHtml(w.highlight.value)}</a></p>`
      : `<p style="font-size:24px;font-weight:bold;letter-spacing:4px">${escapeHtml(w.highlight.value)}</p>`
    : '';
  const html = [
    `<!doctype html><html lang="${lang}"><body style="font-family:sans-serif">`,
    `<p>${escapeHtml(w.greeting)}</p>`,
    ...w.lines.map((l) => `<p>${escapeHtml(l)}</p>`),
    highlightHtml,
    `<p>${escapeHtml(w.closing)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: w.subject, text, html };
}
