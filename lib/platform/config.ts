import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseTrustedProxies } from './clientIp.js';

export const DEFAULT_WORKER_METRICS_PORT = 9464;

/** An IANA zone this runtime knows (Intl.supportedValuesOf omits aliases such as Europe/Kyiv on some ICU builds). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every environment variable Meridian reads, in one place (the README lists them). */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  CORS_ORIGINS: z.string().default('http://localhost:5173'),
  DATABASE_URL: z.string().min(1),
  REDIS_URL: z.string().min(1),
  TEMPORAL_ADDRESS: z.string().min(1),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('meridian'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  WORKFLOW_WAIT_MS: z.coerce.number().int().min(100).default(10_000),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_WORKER_METRICS_PORT),
  WORKER_RESTART_DELAY_MS: z.coerce.number().int().positive().default(1000),
  WORKER_RESTART_MAX_DELAY_MS: z.coerce.number().int().positive().default(30_000),
  JWT_SECRET: z.string().min(32).optional(),
  SECRETS_KEY: z.string().optional(),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().positive().default(900),
  REFRESH_TOKEN_TTL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 24 * 3600),
  REFRESH_REUSE_GRACE_S: z.coerce.number().int().nonnegative().default(20),
  USER_ACCESS_CACHE_MS: z.coerce.number().int().nonnegative().default(2000),
  API_KEY_CACHE_MS: z.coerce.number().int().nonnegative().default(2000),
  RATE_LIMIT_PER_IP: z.coerce.number().int().positive().default(600),
  RATE_LIMIT_PER_KEY: z.coerce.number().int().positive().default(1200),
  RATE_LIMIT_WINDOW_S: z.coerce.number().int().positive().default(60),
  BODY_LIMIT: z.string().default('1mb'),
  TRUST_PROXY: z.coerce.number().int().nonnegative().default(0),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s, ctx) => {
      try {
        return parseTrustedProxies(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'comma-separated IP addresses or CIDRs' });
        return z.NEVER;
      }
    }),
  OUTBOUND_ALLOWLIST: z.string().default(''),
  PAYMENT_EXPIRY_S: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  IDEMPOTENCY_LEASE_S: z.coerce.number().positive().max(3600).default(10),
  WEBHOOK_RETRY_SCHEDULE_S: z
    .string()
    .default('0,5,300,1800,7200,18000,36000,36000')
    .transform((s) => s.split(',').map((n) => Number(n.trim())))
    .pipe(z.array(z.number().nonnegative()).min(1)),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  WEBHOOK_DISABLE_AFTER_S: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 24 * 3600),
  BOOKING_HOLD_S: z.coerce
    .number()
    .positive()
    .default(15 * 60),
  BOOKING_REMINDERS_S: z
    .string()
    .default('86400,3600')
    .transform((s) =>
      s
        .split(',')
        .filter(Boolean)
        .map((n) => Number(n.trim())),
    )
    .pipe(z.array(z.number().positive())),
  BOOKING_MIN_NOTICE_MIN: z.coerce.number().int().nonnegative().default(60),
  BOOKING_SLOT_STEP_MIN: z.coerce.number().int().positive().optional(),
  BOOKING_CLOSE_AFTER_S: z.coerce
    .number()
    .positive()
    .default(24 * 3600),
  BOOKING_MAX_HOLDS_PER_EMAIL: z.coerce.number().int().positive().default(2),
  BOOKING_MAX_HOLDS_PER_CLIENT: z.coerce.number().int().positive().default(5),
  MONITOR_MIN_INTERVAL_S: z.coerce.number().int().positive().default(60),
  MONITOR_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  MONITOR_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
  MONITOR_MAX_REDIRECTS: z.coerce.number().int().nonnegative().default(5),
  MONITOR_RETRY_INITIAL_MS: z.coerce.number().int().positive().default(2000),
  MONITOR_RETRY_ATTEMPTS: z.coerce.number().int().positive().default(4),
  MONITOR_THROTTLE_DEFAULT_S: z.coerce.number().positive().default(60),
  MONITOR_THROTTLE_MAX_S: z.coerce.number().positive().default(3600),
  MONITOR_DISPATCH_WINDOW_S: z.coerce.number().int().min(5).max(600).default(30),
  MONITOR_DISPATCH_LANES: z.coerce.number().int().positive().max(64).default(1),
  MONITOR_HOST_CONCURRENCY: z.coerce.number().int().positive().default(8),
  MONITOR_HOST_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
  MONITOR_CONCURRENCY: z.coerce.number().int().positive().default(200),
  BREAKER_THRESHOLD: z.coerce.number().int().positive().default(5),
  BREAKER_COOLDOWN_S: z.coerce.number().positive().default(60),
  BREAKER_WINDOW_S: z.coerce.number().positive().default(120),
  AI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  AI_API_KEY: z.string().optional(),
  AI_MODEL: z.string().default('gpt-4o-mini'),
  AI_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  DIAGNOSIS_IDLE_S: z.coerce
    .number()
    .positive()
    .default(30 * 60),
  DIAGNOSIS_MESSAGES_PER_MIN: z.coerce.number().int().positive().default(20),
  DIAGNOSIS_CONTINUE_AS_NEW_AFTER: z.coerce.number().int().min(2).default(100),
  CFTC_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://www.cftc.gov'),
  COT_YEARS: z.coerce.number().int().min(1).max(30).default(5),
  COT_SCHEDULE: z.string().trim().default('0 23 * * 5'),
  COT_TIMEZONE: z.string().default('Europe/Kyiv').refine(isTimeZone, 'an IANA time zone'),
  COT_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  COT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  COT_RETRY_INITIAL_MS: z.coerce.number().int().positive().default(5000),
  COT_RETRY_ATTEMPTS: z.coerce.number().int().positive().default(4),
  COT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(3),
  DATA_STALE_DAYS: z.coerce.number().positive().default(10),
  WHITELIST_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://wl-api.mf.gov.pl'),
  WHITELIST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  COMPANY_CACHE_TTL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  COMPANY_WATCH_INTERVAL_S: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  COMPANY_WATCH_SCHEDULE: z.string().trim().default('0 * * * *'),
  COMPANY_WATCH_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  COMPANY_WATCH_RETRY_INITIAL_MS: z.coerce.number().int().positive().default(30_000),
  COMPANY_WATCH_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).default('Meridian <no-reply@meridian.local>'),
  MAILBOX_DIR: z.string().optional(),
  ACCOUNT_CODE_TTL_S: z.coerce.number().positive().default(600),
  ACCOUNT_RESEND_COOLDOWN_S: z.coerce.number().positive().default(60),
  ACCOUNT_MAX_WRONG_CODES: z.coerce.number().int().positive().default(5),
  ACCOUNT_UNVERIFIED_TTL_S: z.coerce
    .number()
    .positive()
    .default(7 * 24 * 3600),
  PASSWORD_RESET_TTL_S: z.coerce.number().positive().default(1800),
  ACCOUNT_LIMIT_PER_EMAIL: z.coerce.number().int().positive().default(10),
  ACCOUNT_LIMIT_PER_IP: z.coerce.number().int().positive().default(30),
  ACCOUNT_LIMIT_WINDOW_S: z.coerce.number().int().positive().default(3600),
});

export type Config = ReturnType<typeof loadConfig>;

/**
 * Outside production, missing secrets are generated once and kept in DATA_DIR so that the API and
 * the worker (separate processes) agree and restarts keep sessions and encrypted data readable.
 */
function devSecrets(dataDir: string): { JWT_SECRET: string; SECRETS_KEY: string } {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const secrets = {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  let { JWT_SECRET, SECRETS_KEY } = c;
  if (!JWT_SECRET || !SECRETS_KEY) {
    if (c.NODE_ENV === 'production') throw new Error('JWT_SECRET and SECRETS_KEY must be set in production');
    const dev = devSecrets(c.DATA_DIR);
    JWT_SECRET ??= dev.JWT_SECRET;
    SECRETS_KEY ??= dev.SECRETS_KEY;
  }
  const secretsKey = Buffer.from(SECRETS_KEY, 'base64');
  if (secretsKey.length !== 32) throw new Error('SECRETS_KEY must be 32 bytes, base64-encoded');
  const publicUrl = c.PUBLIC_URL ?? `http://localhost:${c.PORT}`;
  return {
    env: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    dataDir: c.DATA_DIR,
    port: c.PORT,
    publicUrl,
    corsOrigins: [
      publicUrl,
      ...c.CORS_ORIGINS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ],
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    temporal: {
      address: c.TEMPORAL_ADDRESS,
      namespace: c.TEMPORAL_NAMESPACE,
      taskQueue: c.TEMPORAL_TASK_QUEUE,
      uiUrl: c.TEMPORAL_UI_URL,
      /** How long a request waits on a workflow before the API answers 202 with the state so far (clients/requests). */
      workflowWaitMs: c.WORKFLOW_WAIT_MS,
    },
    workerMetricsPort: c.WORKER_METRICS_PORT,
    /** `npm start`'s worker child: the first restart's wait, doubled per crash in a row up to the cap (ms). */
    workerRestart: { initialMs: c.WORKER_RESTART_DELAY_MS, maxMs: c.WORKER_RESTART_MAX_DELAY_MS },
    jwtSecret: new TextEncoder().encode(JWT_SECRET),
    secretsKey,
    accessTokenTtlS: c.ACCESS_TOKEN_TTL_S,
    refreshTokenTtlS: c.REFRESH_TOKEN_TTL_S,
    /** A spent refresh token presented again this soon is its twin racing it (two tabs, two requests), not theft. */
    refreshReuseGraceS: c.REFRESH_REUSE_GRACE_S,
    /** How long an API process may answer from a user's access as read (lib/accounts/accessCache.ts), at most (ms). */
    userAccessCacheMs: c.USER_ACCESS_CACHE_MS,
    /** How long an API process may answer from an API key as read (active, whose merchant), at most (ms). */
    apiKeyCacheMs: c.API_KEY_CACHE_MS,
    rateLimit: { perIp: c.RATE_LIMIT_PER_IP, perKey: c.RATE_LIMIT_PER_KEY, windowS: c.RATE_LIMIT_WINDOW_S },
    bodyLimit: c.BODY_LIMIT,
    /** The reverse proxies in front of the API, whose X-Forwarded-For entries name the client (lib/platform/clientIp). */
    proxyTrust: { hops: c.TRUST_PROXY, proxies: c.TRUSTED_PROXIES },
    /** CIDRs outbound requests may reach although they are not public (tests, local development). */
    outboundAllowList: c.OUTBOUND_ALLOWLIST,
    payments: { expiryS: c.PAYMENT_EXPIRY_S },
    /**
     * How long an Idempotency-Key's running request holds it without renewing (it renews every third of this while
     * it runs): a retry of a request whose process died waits this long at most (api/idempotency.ts).
     */
    idempotencyLeaseS: c.IDEMPOTENCY_LEASE_S,
    booking: {
      holdS: c.BOOKING_HOLD_S,
      remindersS: c.BOOKING_REMINDERS_S,
      minNoticeMin: c.BOOKING_MIN_NOTICE_MIN,
      /** Undefined: slots step by the service's duration. */
      slotStepMin: c.BOOKING_SLOT_STEP_MIN,
      /** A confirmed appointment nobody updated is closed this long after its end. */
      closeAfterS: c.BOOKING_CLOSE_AFTER_S,
      /** Unconfirmed, unexpired holds at once per customer email and per client (IP, or credential when used). */
      maxHolds: { perEmail: c.BOOKING_MAX_HOLDS_PER_EMAIL, perClient: c.BOOKING_MAX_HOLDS_PER_CLIENT },
    },
    monitors: {
      minIntervalS: c.MONITOR_MIN_INTERVAL_S,
      fetchTimeoutMs: c.MONITOR_FETCH_TIMEOUT_MS,
      maxBytes: c.MONITOR_MAX_BYTES,
      maxRedirects: c.MONITOR_MAX_REDIRECTS,
      retry: { initialMs: c.MONITOR_RETRY_INITIAL_MS, attempts: c.MONITOR_RETRY_ATTEMPTS },
      /** A host answering 429 (503 with Retry-After): the wait without Retry-After, and the cap (lib/platform/hostThrottle). */
      throttle: { defaultMs: c.MONITOR_THROTTLE_DEFAULT_S * 1000, maxMs: c.MONITOR_THROTTLE_MAX_S * 1000 },
      /** Each dispatcher run (Schedule `monitor-dispatch-<task queue>`) claims and checks what falls due in its window. */
      dispatch: { windowMs: c.MONITOR_DISPATCH_WINDOW_S * 1000, lanes: c.MONITOR_DISPATCH_LANES },
      /** Politeness per worker process (lib/monitors/hostGate): in flight per host, between starts, in flight in all. */
      gate: { perHost: c.MONITOR_HOST_CONCURRENCY, delayMs: c.MONITOR_HOST_DELAY_MS, total: c.MONITOR_CONCURRENCY },
      breaker: {
        threshold: c.BREAKER_THRESHOLD,
        cooldownMs: c.BREAKER_COOLDOWN_S * 1000,
        windowMs: c.BREAKER_WINDOW_S * 1000,
      },
    },
    diagnosis: {
      idleS: c.DIAGNOSIS_IDLE_S,
      messagesPerMin: c.DIAGNOSIS_MESSAGES_PER_MIN,
      continueAsNewAfter: c.DIAGNOSIS_CONTINUE_AS_NEW_AFTER,
      /** An OpenAI-compatible provider when AI_BASE_URL is set; otherwise the built-in engine answers. */
      provider: c.AI_BASE_URL
        ? { baseUrl: c.AI_BASE_URL, apiKey: c.AI_API_KEY, model: c.AI_MODEL, timeoutMs: c.AI_TIMEOUT_MS }
        : null,
    },
    cot: {
      baseUrl: c.CFTC_BASE_URL,
      years: c.COT_YEARS,
      /** A cron expression in `timezone` for the weekly ingestion; `off` leaves scheduling to someone else. */
      schedule: c.COT_SCHEDULE === 'off' ? null : { cron: c.COT_SCHEDULE, timezone: c.COT_TIMEZONE },
      downloadTimeoutMs: c.COT_DOWNLOAD_TIMEOUT_MS,
      maxBytes: c.COT_MAX_BYTES,
      /** Backoff for a file's download and load: first wait, tripled per attempt, this many attempts in all. */
      retry: { initialMs: c.COT_RETRY_INITIAL_MS, attempts: c.COT_RETRY_ATTEMPTS },
      /** Files downloaded and loaded at once. */
      concurrency: c.COT_CONCURRENCY,
      staleDays: c.DATA_STALE_DAYS,
    },
    companies: {
      /** The VAT white list's REST API (lib/companies/registry). */
      registry: { baseUrl: c.WHITELIST_BASE_URL, timeoutMs: c.WHITELIST_TIMEOUT_MS },
      /** How long a registry answer stays in Redis (`nip:{nip}`). */
      cacheTtlS: c.COMPANY_CACHE_TTL_S,
      watch: {
        /** A watch is checked again this long after its last check. */
        intervalS: c.COMPANY_WATCH_INTERVAL_S,
        /** Cron (Polish time) of the Schedule whose runs check the watches that are due; null: `off`. */
        schedule: c.COMPANY_WATCH_SCHEDULE === 'off' ? null : c.COMPANY_WATCH_SCHEDULE,
        concurrency: c.COMPANY_WATCH_CONCURRENCY,
        /** Backoff while the registry is unavailable during a check: first wait, doubled up to the cap, no limit. */
        retry: { initialMs: c.COMPANY_WATCH_RETRY_INITIAL_MS, maxMs: c.COMPANY_WATCH_RETRY_MAX_MS },
      },
    },
    /** Outgoing email (lib/platform/mail); `mailboxDir`: npm start's catcher keeps what it receives there. */
    mail: {
      smtpUrl: c.SMTP_URL,
      from: c.MAIL_FROM,
      mailboxDir: c.NODE_ENV === 'production' ? undefined : c.MAILBOX_DIR,
    },
    /** Self-service accounts (README "Accounts"): emailed codes, their lifetimes, and per-email/per-IP limits. */
    accounts: {
      codeTtlMs: c.ACCOUNT_CODE_TTL_S * 1000,
      resendCooldownMs: c.ACCOUNT_RESEND_COOLDOWN_S * 1000,
      maxWrongCodes: c.ACCOUNT_MAX_WRONG_CODES,
      unverifiedTtlMs: c.ACCOUNT_UNVERIFIED_TTL_S * 1000,
      resetTtlMs: c.PASSWORD_RESET_TTL_S * 1000,
      limits: { perEmail: c.ACCOUNT_LIMIT_PER_EMAIL, perIp: c.ACCOUNT_LIMIT_PER_IP, windowS: c.ACCOUNT_LIMIT_WINDOW_S },
    },
    webhooks: {
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      /** What every delivery workflow is started with: its retry schedule and when to give up on an endpoint. */
      delivery: { scheduleS: c.WEBHOOK_RETRY_SCHEDULE_S, disableAfterS: c.WEBHOOK_DISABLE_AFTER_S },
    },
  };
}
