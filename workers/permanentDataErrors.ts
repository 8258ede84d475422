import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { pgErrorCode } from '../db/errors.js';

/**
 * SQLSTATEs that no retry can cure: the data itself is refused (class 22: out of range, invalid or
 * unstorable text; NOT NULL and CHECK violations). Foreign-key and unique violations are left to
 * retries: the row they wait for may still be committing in the API's transaction.
 */
const PERMANENT = /^(22|23502|23514)/;

/**
 * Every activity (local ones too): a permanent database refusal fails at once, non-retryable, instead
 * of being retried for ever while the workflow — and a caller waiting on its Update — waits.
 */
export const permanentDataErrors = (): ActivityInterceptors => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (error) {
        const code = pgErrorCode(error);
        if (code && PERMANENT.test(code))
          throw ApplicationFailure.nonRetryable(
            `the database refused the data (${code}): ${(error as Error).message}`,
            'PermanentDataError',
          );
        throw error;
      }
    },
  },
});
