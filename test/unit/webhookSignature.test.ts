import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signatureFor, webhookHeaders } from '../../lib/webhooks/signature.js';

// The Standard Webhooks reference vector (see ../shared/README.md).
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const msgId = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const payload = '{"test": 2432232314}';

describe('Standard Webhooks signatures', () => {
  it('match the specification vector', () => {
    expect(signatureFor(secret, msgId, timestamp, payload)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verify with the official library, for each secret during a rotation', () => {
    const other = 'whsec_' + Buffer.from('another-secret-of-32-bytes-long!').toString('base64');
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id: 'evt_1', type: 'payment_intent.succeeded' });
    const headers = webhookHeaders([secret, other], 'evt_1', now, body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(other).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
  });

  it('refuses secrets without the whsec_ prefix', () => {
    expect(() => signatureFor('plain', msgId, timestamp, payload)).toThrow(/whsec_/);
  });
});
