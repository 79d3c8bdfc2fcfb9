import { stripVTControlCharacters } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../config/config.js';
import { lineFormatter, logTransport } from './log-output.js';

describe('log output', () => {
  it('is pretty only when stdout is a terminal', () => {
    expect(loadConfig({}, { isTTY: true }).prettyLogs).toBe(true);
    expect(loadConfig({}, { isTTY: false }).prettyLogs).toBe(false);
    // A pipe or a file: Node leaves isTTY undefined.
    expect(loadConfig({}, {}).prettyLogs).toBe(false);
    expect(loadConfig({}).prettyLogs).toBe(false);
  });

  it('keeps JSON lines, with no transport, when not pretty', async () => {
    expect(logTransport(false)).toBeUndefined();
    const entry = { level: 30, time: 1_796_000_000_000, msg: 'ledger service listening on http://127.0.0.1:3000' };
    expect((await lineFormatter(false))(entry)).toBe(`${JSON.stringify(entry)}\n`);
  });

  it('sends pino through pino-pretty for a terminal, and formats main.ts lines the same way', async () => {
    const transport = logTransport(true);
    expect(transport?.target).toMatch(/\/node_modules\/pino-pretty\/index\.js$/);
    const time = new Date(2026, 11, 4, 10, 31, 50, 101).getTime();
    const line = (await lineFormatter(true))({ level: 30, time, msg: 'ledger service listening' });
    // Colours depend on where the test itself runs (a terminal or not); the text does not.
    expect(stripVTControlCharacters(line)).toBe('[10:31:50.101] INFO: ledger service listening\n');
  });

  it('writes one readable line per request and per Nest message, through a real pino logger', async () => {
    const lines: string[] = [];
    const format = await lineFormatter(true);
    const logger = pino({ level: 'info' }, { write: (json: string) => lines.push(format(JSON.parse(json))) });
    logger.info({ context: 'NestApplication' }, 'Nest application successfully started');
    logger.info(
      {
        requestId: 'r-1',
        req: { id: 'r-1', method: 'POST', url: '/v1/transfers', headers: { host: 'x' } },
        res: { statusCode: 201, headers: {} },
        responseTime: 4,
      },
      'request completed',
    );
    expect(lines.map((l) => stripVTControlCharacters(l).replace(/^\[[\d:.]+\] /, ''))).toEqual([
      'INFO: [NestApplication] Nest application successfully started\n',
      'INFO: request completed POST /v1/transfers 201 4 ms {"requestId":"r-1"}\n',
    ]);
  });
});
