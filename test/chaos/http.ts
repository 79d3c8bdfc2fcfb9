/** What the service answered; a request that got no answer throws a `NoAnswer` instead. */
export interface Answer {
  status: number;
  body: any;
  text: string;
  replayed: boolean;
}

/** The outcome is unknown: the request may or may not have been applied. */
export class NoAnswer extends Error {
  constructor(
    readonly kind: 'timeout' | 'connection',
    message: string,
  ) {
    super(message);
    this.name = 'NoAnswer';
  }
}

export interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  key?: string;
}

export async function send(baseUrl: string, call: Call, token: string | undefined, timeoutMs: number): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (call.key !== undefined) headers['idempotency-key'] = call.key;
  let payload: string | undefined;
  if (call.body !== undefined) {
    payload = JSON.stringify(call.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${baseUrl}${call.path}`, {
      method: call.method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new NoAnswer('timeout', `no answer in ${timeoutMs} ms`);
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const detail = typeof cause?.code === 'string' ? cause.code : (error as Error).message;
    throw new NoAnswer('connection', detail);
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, replayed: res.headers.get('idempotent-replayed') === 'true' };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
