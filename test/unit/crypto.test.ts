import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, newWebhookSecret, sha256 } from '../../lib/platform/crypto.js';

describe('secret sealing', () => {
  const key = randomBytes(32);

  it('round-trips and never stores the plaintext', () => {
    const secret = newWebhookSecret();
    const sealed = encryptSecret(secret, key);
    expect(sealed).not.toContain(secret.slice(6));
    expect(decryptSecret(sealed, key)).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    expect(encryptSecret('same', key)).not.toBe(encryptSecret('same', key));
  });

  it('rejects a tampered ciphertext or the wrong key', () => {
    const sealed = encryptSecret('whsec_abc', key);
    const parts = sealed.split(':');
    const body = Buffer.from(parts[3], 'base64');
    body[0] ^= 1;
    expect(() => decryptSecret([...parts.slice(0, 3), body.toString('base64')].join(':'), key)).toThrow();
    expect(() => decryptSecret(sealed, randomBytes(32))).toThrow();
  });

  it('hashes with SHA-256 hex', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
