import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

// Over real sockets: the budget is taken when a request's headers arrive and given back when its answer is
// written or its connection closes, which in-process injection would not exercise.
describe('request bodies in flight are bounded (IN_FLIGHT_BODY_BYTES)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp({ IN_FLIGHT_BODY_BYTES: String(1024 * 1024) });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  /** Sends the headers and `sent` of a body declared `length` bytes long; `finish` ends it, `abort` drops it. */
  function post(length: number, sent: string) {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/accounts',
      headers: { 'content-type': 'application/json', 'content-length': String(length), connection: 'close' },
      agent: false, // no keep-alive connection left behind to hold up the server's close
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    });
    req.write(sent);
    return {
      answer,
      finish: (rest: string) => req.end(rest),
      abort: () => req.destroy(),
    };
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('answers 503 with Retry-After to a body that does not fit, and admits it again once room is given back', async () => {
    const held = post(700_000, '{"currency":');
    held.answer.catch(() => undefined); // it is aborted below
    await sleep(300); // its headers have reached the server: 700,000 bytes are taken

    const refused = await post(400_000, '').answer;
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });

    held.abort();
    await sleep(300);
    const body = JSON.stringify({ currency: 'USD', normalBalance: 'debit', name: 'x'.repeat(100) });
    const admitted = post(Buffer.byteLength(body) + 399_000, body);
    admitted.finish(' '.repeat(399_000));
    expect((await admitted.answer).status).toBe(401); // read, parsed and refused for its missing token
  });

  it('gives the room back after every answer: 40 sequential bodies of 100 kB through a 1 MB budget', async () => {
    for (let i = 0; i < 40; i++) {
      const body = `{"currency":"USD","normalBalance":"debit"}${' '.repeat(100_000)}`;
      const r = post(Buffer.byteLength(body), body);
      r.finish('');
      expect((await r.answer).status).toBe(401);
    }
  });
});
