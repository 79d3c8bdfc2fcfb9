import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedRange } from './webhook-address.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
/** What is kept of an answer's body: enough to tell what went wrong, never a whole page. */
const MAX_BODY = 2048;

export interface DeliveryResult {
  statusCode: number | null;
  durationMs: number;
  /** Why it did not get an answer, or what a non-2xx answer said. */
  error: string | null;
}

export class RefusedAddress extends Error {}

/**
 * A name lookup that refuses a private, loopback, link-local, CGNAT, multicast or otherwise special address, and
 * hands the connection exactly the address it judged: the check and the connection cannot disagree, however
 * the name's records change between them (DNS rebinding).
 */
export function guardedLookup(allowPrivate: boolean, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = addresses.filter((a) => allowPrivate || refusedRange(a.address) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0];
        const why = first === undefined ? 'no address' : `${first.address} is ${refusedRange(first.address)}`;
        return callback(new RefusedAddress(`refused: ${hostname} resolves to a forbidden address (${why})`), '', 0);
      }
      const chosen = allowed[0]!;
      if (options.all === true) return (callback as (e: null, a: LookupAddress[]) => void)(null, [chosen]);
      callback(null, chosen.address, chosen.family);
    });
  };
}

/**
 * The connections of one webhook, kept alive between its deliveries (one at a time: they are strictly ordered).
 * Every connection it opens goes through `guardedLookup`; one kept open stays with the address judged when it
 * opened, so a name that changes its records later can only reach a new address through the check again.
 */
export function deliveryAgent(url: string): http.Agent {
  const options = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: DELIVERY_TIMEOUT_MS };
  return new URL(url).protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/**
 * One POST of one event: no redirect followed (a 3xx is a failure, so an allowed host cannot point the delivery
 * elsewhere), a limit on the whole exchange (10 s unless `timeoutMs` says otherwise), and the address checked by
 * `guardedLookup`. Without an agent (`deliveryAgent`), on a connection of its own. `url` may be parsed once by
 * the caller for all of a webhook's deliveries.
 */
export async function deliver(
  url: string | URL,
  body: string,
  headers: Record<string, string>,
  allowPrivate: boolean,
  agent?: http.Agent,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<DeliveryResult> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const host = target.hostname;
  if (agent !== undefined && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
    // A kept-alive connection is not looked up again, but the name is judged at every delivery all the same
    // (SPEC 13): one that now resolves only to a forbidden address is refused, whatever connection is open.
    const refused = await judgedName(host, allowPrivate);
    if (refused !== undefined) return { statusCode: null, durationMs: 0, error: refused };
  }
  const first = await post(target, body, headers, allowPrivate, agent, timeoutMs);
  // A receiver may close a kept-alive connection just as it is reused, before it read the request: it is sent once
  // more, on a new connection (the agent opens one). Should the first have got through after all, the receiver
  // sees the event twice, as at least once allows.
  return first.reusedSocketFailed ? post(target, body, headers, allowPrivate, agent, timeoutMs) : first;
}

/** Why a delivery to `hostname` is refused or cannot go (a failed lookup), if it is. */
function judgedName(hostname: string, allowPrivate: boolean): Promise<string | undefined> {
  return new Promise((resolve) =>
    guardedLookup(allowPrivate)(hostname, {}, (error) => resolve(error === null ? undefined : error.message)),
  );
}

function post(
  target: URL,
  body: string,
  headers: Record<string, string>,
  allowPrivate: boolean,
  agent: http.Agent | undefined,
  timeoutMs: number,
): Promise<DeliveryResult & { reusedSocketFailed?: boolean }> {
  const started = Date.now();
  const done = (statusCode: number | null, error: string | null): DeliveryResult => ({
    statusCode,
    durationMs: Date.now() - started,
    error,
  });
  // A literal address is never looked up, so it is judged here. The URL parser has already turned the other
  // spellings of an IPv4 address (2130706433, 0177.0.0.1, 127.1) into dotted decimal.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  const range = isIP(literal) === 0 || allowPrivate ? undefined : refusedRange(literal);
  if (range !== undefined) return Promise.resolve(done(null, `refused: ${literal} is a forbidden address (${range})`));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: DeliveryResult & { reusedSocketFailed?: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let statusCode: number | null = null;
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup(allowPrivate),
        agent: agent ?? false,
      },
      (response) => {
        statusCode = response.statusCode ?? null;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_BODY) text += chunk.slice(0, MAX_BODY - text.length);
        });
        response.on('end', () => {
          const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
          finish(done(statusCode, ok ? null : `answered ${statusCode}${text === '' ? '' : `: ${text}`}`));
        });
        response.on('error', (error) => finish(done(statusCode, error.message)));
      },
    );
    // A timer rather than an AbortSignal: the signal, its listeners and their removal took about 25 µs of every
    // delivery in a CPU profile (BENCHMARKS.md), and a webhook pays that per event.
    const timer = setTimeout(() => {
      finish(done(statusCode, `no answer within ${timeoutMs} ms`));
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      const reset = request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      finish({ ...done(null, error.message), ...(reset ? { reusedSocketFailed: true } : {}) });
    });
    request.end(body);
  });
}
