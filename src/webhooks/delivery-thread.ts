/**
 * The webhook deliveries' HTTP side, on a thread of its own. A webhook's deliveries are strictly ordered (SPEC 13:
 * the next waits for a 2xx to the one before), so it gets one event per round trip. On the requests' thread every
 * round trip also waited for that busy loop to come round, and the HTTP client's work was taken from the requests.
 * Here the round trips run on a loop that does nothing else. The thread never touches the database:
 * `WebhookWorker` reads the events, hands them over a burst at a time, and records the attempts it gets back.
 */
import type { Agent } from 'node:http';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { Webhook } from 'standardwebhooks';
import { deliver, deliveryAgent, type DeliveryResult } from './webhook-delivery.js';

/** What the thread is asked to do, for one webhook being served (its session). */
export type ThreadCommand =
  | {
      kind: 'send';
      session: number;
      url: string;
      allowPrivate: boolean;
      /** Every secret that signs, with the time (ms) until which it does; null: for good. */
      secrets: { secret: string; until: number | null }[];
      /** The events, in seq order, with their bodies as they are sent. */
      events: { id: string; body: string }[];
      /** Attempts are reported at least this often (ms), so that they are recorded while the next ones go out. */
      reportEveryMs: number;
    }
  /** Send nothing more in this session: the report of the attempt under way is the last. */
  | { kind: 'stop'; session: number }
  /** The session is over: its kept-alive connection is closed. */
  | { kind: 'close'; session: number };

/** Attempts made, in order, for the burst of a session; `done` on its last report. */
export interface ThreadReport {
  session: number;
  attempts: { index: number; attemptedAt: number; result: DeliveryResult }[];
  /** The burst ended: all sent, a failure (the last attempt), or stopped. */
  done: boolean;
  /** What went wrong in the thread itself (never a delivery's failure, which is an attempt's result). */
  fault?: string;
}

interface Session {
  agent: Agent;
  stopped: boolean;
}

function threadPort(): MessagePort {
  if (parentPort === null) throw new Error('delivery-thread.js runs as a worker thread');
  return parentPort;
}

const port = threadPort();
const sessions = new Map<number, Session>();

port.on('message', (command: ThreadCommand) => {
  if (command.kind === 'send') {
    let session = sessions.get(command.session);
    if (session === undefined) {
      session = { agent: deliveryAgent(command.url), stopped: false };
      sessions.set(command.session, session);
    }
    void sendBurst(command, session);
  } else if (command.kind === 'stop') {
    const session = sessions.get(command.session);
    if (session !== undefined) session.stopped = true;
  } else {
    sessions.get(command.session)?.agent.destroy();
    sessions.delete(command.session);
  }
});

async function sendBurst(command: Extract<ThreadCommand, { kind: 'send' }>, session: Session): Promise<void> {
  try {
    await sendInOrder(command, session);
  } catch (error) {
    port.postMessage({
      session: command.session,
      attempts: [],
      done: true,
      fault: String(error),
    } satisfies ThreadReport);
  }
}

async function sendInOrder(command: Extract<ThreadCommand, { kind: 'send' }>, session: Session): Promise<void> {
  const signers = command.secrets.map((s) => ({ webhook: new Webhook(s.secret), until: s.until }));
  let attempts: ThreadReport['attempts'] = [];
  let reportBy = Date.now() + command.reportEveryMs;
  for (let index = 0; index < command.events.length && !session.stopped; index++) {
    const event = command.events[index]!;
    const at = new Date();
    // Standard Webhooks: every current secret signs; receivers accept any one signature they can verify.
    const signature = signers
      .filter((s) => s.until === null || s.until > at.getTime())
      .map((s) => s.webhook.sign(event.id, at, event.body))
      .join(' ');
    const result = await deliver(
      command.url,
      event.body,
      {
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
        'user-agent': 'ledger-service-webhooks',
      },
      command.allowPrivate,
      session.agent,
    );
    attempts.push({ index, attemptedAt: at.getTime(), result });
    if (result.error !== null) break;
    if (Date.now() >= reportBy && index + 1 < command.events.length) {
      port.postMessage({ session: command.session, attempts, done: false } satisfies ThreadReport);
      attempts = [];
      reportBy = Date.now() + command.reportEveryMs;
    }
  }
  port.postMessage({ session: command.session, attempts, done: true } satisfies ThreadReport);
}
