import { createRequire } from 'node:module';
import type { TransportSingleOptions } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

/**
 * One line per event, for a person at a terminal: the time, the level, `[context]` of Nest's own messages, the
 * message, and for a request its method, URL, status and duration. The rest (requestId, errors) follows the
 * line; req and res in full stay in the JSON logs, where a machine reads them.
 */
export const PRETTY_OPTIONS: PrettyOptions = {
  // colorize is left to pino-pretty: on for a colour terminal, off with NO_COLOR or TERM=dumb.
  translateTime: 'SYS:HH:MM:ss.l',
  singleLine: true,
  ignore: 'pid,hostname,context,req,res,responseTime',
  messageFormat:
    '{if context}[{context}] {end}{msg}{if req.method} {req.method} {req.url}{end}' +
    '{if res.statusCode} {res.statusCode}{end}{if responseTime} {responseTime} ms{end}',
};

/** pino's transport: pino-pretty (in a worker thread) for a terminal; none, so JSON lines on stdout, otherwise. */
export function logTransport(pretty: boolean): TransportSingleOptions | undefined {
  // A bare name would be resolved from whichever file calls pino (inside nestjs-pino here): resolve it from ours.
  return pretty
    ? { target: createRequire(import.meta.url).resolve('pino-pretty'), options: PRETTY_OPTIONS }
    : undefined;
}

/**
 * Formats the lines `main.ts` writes itself, before the Nest logger exists and after it is gone, like pino's:
 * JSON, or the same pretty line. pino-pretty is loaded only for a terminal.
 */
export async function lineFormatter(
  pretty: boolean,
): Promise<(entry: { level: number; time: number; msg: string }) => string> {
  if (!pretty) return (entry) => `${JSON.stringify(entry)}\n`;
  const { prettyFactory } = await import('pino-pretty');
  return prettyFactory(PRETTY_OPTIONS);
}
