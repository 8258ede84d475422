import { request } from 'undici';

export const baselineActivities = {
  async postOnce(url: string, body: string): Promise<number> {
    const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await res.body.dump();
    return res.statusCode;
  },
};
export type BaselineActivities = typeof baselineActivities;
