import { randomBytes } from 'node:crypto';

/** A random public id: `<prefix>_<base64url of `bytes` random bytes>` (16 bytes → 22 characters), e.g. `pi_…`. */
export const newId = (prefix: string, bytes = 16) => `${prefix}_${randomBytes(bytes).toString('base64url')}`;
