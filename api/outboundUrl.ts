/** URLs our users give us to call (webhook endpoints, shop pages), checked before they are stored. */
import { z } from 'zod';
import { assertAllowedUrl, BlockedAddressError, parseAllowList } from '../lib/platform/outbound.js';
import { ApiError } from './errors.js';

export const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** Literal private addresses are refused up front; names are checked again at every connect. */
export function publicUrl(url: string, field: string, allowList: string | undefined): string {
  try {
    assertAllowedUrl(url, parseAllowList(allowList));
    return url;
  } catch (error) {
    if (!(error instanceof BlockedAddressError)) throw error;
    throw new ApiError(400, 'validation_error', `The ${field} must point to a public address`, [
      { path: field, message: error.message },
    ]);
  }
}
