import type { LookupAddress, lookup } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliver, deliveryAgent, guardedLookup } from './webhook-delivery.js';

describe('guardedLookup: the address is judged after resolution, and the one judged is the one used', () => {
  /** A resolver answering these addresses for any name: nothing leaves this machine. */
  const stub = (...addresses: string[]): typeof lookup =>
    ((_name: string, _options: unknown, callback: (e: null, a: LookupAddress[]) => void) =>
      callback(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      )) as unknown as typeof lookup;
  const resolve = (allowPrivate: boolean, resolver: typeof lookup, all = true) =>
    new Promise<{ error: Error | null; address: unknown }>((done) =>
      guardedLookup(allowPrivate, resolver)('hooks.example.com', { all }, (error, address) => done({ error, address })),
    );

  it('refuses a name that resolves only to forbidden addresses', async () => {
    for (const address of ['127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', 'fd00::1', '100.64.1.1', '0.0.0.0']) {
      const { error } = await resolve(false, stub(address));
      expect(error?.message).toMatch(/^refused: hooks\.example\.com resolves to a forbidden address/);
    }
  });

  it('connects to the allowed address of a name that has both, and to anything when private ones are allowed', async () => {
    expect(await resolve(false, stub('10.0.0.7', '93.184.215.14'))).toEqual({
      error: null,
      address: [{ address: '93.184.215.14', family: 4 }],
    });
    expect(await resolve(false, stub('93.184.215.14'), false)).toEqual({ error: null, address: '93.184.215.14' });
    expect(await resolve(true, stub('127.0.0.1'))).toEqual({
      error: null,
      address: [{ address: '127.0.0.1', family: 4 }],
    });
  });

  it('judges the name again at every delivery, even over a connection kept open', async () => {
    let requests = 0;
    let connections = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume().on('end', () => res.writeHead(204).end());
    }).on('connection', () => connections++);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://localhost:${(server.address() as AddressInfo).port}/hook`;
    const agent = deliveryAgent(url);
    try {
      expect((await deliver(url, '{}', {}, true, agent)).statusCode).toBe(204);
      expect((await deliver(url, '{}', {}, true, agent)).statusCode).toBe(204);
      expect(connections).toBe(1); // kept open
      const refused = await deliver(url, '{}', {}, false, agent);
      expect(refused.error).toMatch(/^refused: localhost resolves to a forbidden address/);
      expect(requests).toBe(2);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('refuses a literal forbidden address before any connection is made', async () => {
    for (const url of ['http://127.0.0.1:9/', 'http://[::1]:9/', 'http://2130706433:9/', 'http://169.254.169.254/']) {
      const result = await deliver(url, '{}', {}, false);
      expect(result).toEqual({
        statusCode: null,
        durationMs: expect.any(Number),
        error: expect.stringMatching(/^refused: /),
      });
    }
  });
});

describe('deliver: a bound on the whole exchange, and no redirect followed', () => {
  /** A receiver on loopback that answers each request as `answer` does; its URL, and how to close it. */
  async function receiver(answer: Parameters<typeof createServer>[1]) {
    const server = createServer(answer);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  it('gives up on a receiver that never answers, after the limit', async () => {
    const silent = await receiver((req) => req.resume());
    try {
      const result = await deliver(silent.url, '{}', {}, true, undefined, 200);
      expect(result).toEqual({ statusCode: null, durationMs: expect.any(Number), error: 'no answer within 200 ms' });
      expect(result.durationMs).toBeGreaterThanOrEqual(190);
      expect(result.durationMs).toBeLessThan(2000);
    } finally {
      silent.close();
    }
  });

  it('gives up on an answer whose body never ends: the limit is on the whole exchange', async () => {
    const trickle = await receiver((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('still going');
    });
    try {
      const result = await deliver(trickle.url, '{}', {}, true, undefined, 200);
      expect(result).toEqual({ statusCode: 200, durationMs: expect.any(Number), error: 'no answer within 200 ms' });
    } finally {
      trickle.close();
    }
  });

  it('does not follow a redirect: a 3xx is a failed delivery, and its target hears nothing', async () => {
    let heard = 0;
    const target = await receiver((req, res) => {
      heard++;
      req.resume().on('end', () => res.writeHead(204).end());
    });
    const redirecting = await receiver((req, res) => {
      req.resume().on('end', () => res.writeHead(307, { location: target.url }).end('moved'));
    });
    try {
      const result = await deliver(redirecting.url, '{}', {}, true);
      expect(result).toEqual({ statusCode: 307, durationMs: expect.any(Number), error: 'answered 307: moved' });
      expect(heard).toBe(0);
    } finally {
      target.close();
      redirecting.close();
    }
  });
});
