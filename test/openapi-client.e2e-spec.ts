import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { openApiDocumentWithoutDatabase } from '../src/http/openapi.js';
import { startTestApp, type TestApp } from './support/app.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDoc' } } };

interface Operation {
  operationId: string;
  security?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, unknown> }>;
}

function operationsOf(doc: any): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/**
 * A caller's first steps written from the SPEC alone (sections 3-6), against the generated types: a token, an
 * account with every optional field left out, a transfer, a balance; every failure handled as a problem.
 */
const USAGE = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type Problem = components['schemas']['ProblemDoc'];

export async function firstTransfer(baseUrl: string, username: string, password: string): Promise<string> {
  const client = createClient<paths>({ baseUrl });
  const token = await client.POST('/v1/auth/token', { body: { username, password } });
  if (token.error !== undefined) return fail(token.error);
  const headers = { authorization: \`Bearer \${token.data.accessToken}\` };

  const wallet = await client.POST('/v1/accounts', { headers, body: { currency: 'USD', normalBalance: 'credit' } });
  if (wallet.error !== undefined) return fail(wallet.error);
  const cash = await client.POST('/v1/accounts', {
    headers,
    body: { currency: 'USD', normalBalance: 'debit', allowNegative: true, name: 'cash', metadata: { desk: 'ops' } },
  });
  if (cash.error !== undefined) return fail(cash.error);

  const transfer = await client.POST('/v1/transfers', {
    headers,
    params: { header: { 'Idempotency-Key': 'deposit-0001' } },
    body: { debitAccountId: cash.data.id, creditAccountId: wallet.data.id, amount: '1050', currency: 'USD' },
  });
  if (transfer.error !== undefined) {
    if (transfer.error.status === 422 && transfer.error.code === 'INSUFFICIENT_FUNDS') return 'refused';
    return fail(transfer.error);
  }
  const status: 'pending' | 'posted' | 'voided' | 'expired' = transfer.data.status;

  const balance = await client.GET('/v1/accounts/{id}/balance', {
    headers,
    params: { path: { id: wallet.data.id }, query: { asOf: transfer.data.createdAt } },
  });
  if (balance.error !== undefined) return fail(balance.error);
  const posted: string = balance.data.posted;

  const ready = await client.GET('/health/ready');
  if (ready.error !== undefined) return fail(ready.error);
  return \`\${status} \${posted} \${wallet.data.balances.available}\`;
}

function fail(problem: Problem): never {
  const fields = (problem.errors ?? []).map((e) => e.field).join(', ');
  throw new Error(\`\${problem.status} \${problem.code}: \${problem.detail} [\${fields}] (\${problem.requestId})\`);
}
`;

/** Mistakes a caller could make; each line marked WRONG must get a diagnostic, and no other line. */
const WRONG = `
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function mistakes(): Promise<void> {
  const client = createClient<paths>({ baseUrl: 'http://localhost:3000' });
  await client.POST('/v1/accounts', { body: { normalBalance: 'credit' } }); // WRONG: currency is required
  const transfer = await client.POST('/v1/transfers', {
    body: {
      debitAccountId: 'a',
      creditAccountId: 'b',
      amount: 1050, // WRONG: money is a string
      currency: 'USD',
    },
  });
  const code: string = transfer.error.code; // WRONG: error is undefined on success
  await client.GET('/v1/accounts/{id}'); // WRONG: the path parameter is missing
  await client.GET('/v1/account', {}); // WRONG: no such route
  void code;
}
`;

/** Type errors of each file, as `file:line: message`, checked as a strict TypeScript user would. */
function typeErrors(root: string, files: string[]): string[] {
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: 'ES2023',
      lib: ['ES2023', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: [],
      noEmit: true,
      skipLibCheck: true,
    },
    root,
  );
  expect(errors).toEqual([]);
  const program = ts.createProgram(
    files.map((f) => join(root, f)),
    options,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file === undefined
        ? '?'
        : `${d.file.fileName.slice(root.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`;
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

async function clientTypes(doc: unknown, options: { defaultNonNullable?: boolean } = {}): Promise<string> {
  return astToString(await openapiTS(structuredClone(doc) as OpenAPI3, options));
}

describe('OpenAPI document: what a generated client sees', () => {
  let t: TestApp;
  let doc: any;
  let root: string;
  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.request('GET', '/docs-json');
    expect(res.status).toBe(200);
    doc = res.body;
    root = await mkdtemp(join(tmpdir(), 'ledger-openapi-client-'));
    // The generated files import openapi-fetch as a caller's project would, from its node_modules.
    await symlink(resolve('node_modules'), join(root, 'node_modules'), 'dir');
    await writeFile(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  });
  afterAll(async () => {
    await t.close();
    await rm(root, { recursive: true, force: true });
  });

  async function write(file: string, text: string): Promise<void> {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  }

  it('is the same document when built without a database, as `npm run lint` builds it', async () => {
    expect(await openApiDocumentWithoutDatabase()).toEqual(doc);
  });

  it('types every error answer of every operation as application/problem+json', () => {
    const errors = operationsOf(doc).flatMap(({ method, path, op }) =>
      Object.entries(op.responses)
        .filter(([status]) => Number(status) >= 400)
        .map(([status, response]) => ({ at: `${method.toUpperCase()} ${path} ${status}`, content: response.content })),
    );
    expect(errors.length).toBeGreaterThan(100);
    expect(errors.filter((e) => JSON.stringify(e.content) !== JSON.stringify(PROBLEM))).toEqual([]);
    expect(doc.components.schemas.ProblemDoc.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'code', 'detail', 'requestId']),
    );
  });

  it('declares bearer security on every operation except those the guard lets through without a token', async () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    const answers = await Promise.all(
      operationsOf(doc).map(async ({ method, path, op }) => {
        const url = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
        const res = await t.request(method.toUpperCase(), url, op.requestBody === undefined ? {} : { body: {} });
        return {
          route: `${method.toUpperCase()} ${path}`,
          publicInDoc: Array.isArray(op.security) && op.security.length === 0,
          publicInFact: res.status !== 401,
        };
      }),
    );
    expect(answers.filter((a) => a.publicInDoc !== a.publicInFact)).toEqual([]);
    expect(
      answers
        .filter((a) => a.publicInDoc)
        .map((a) => a.route)
        .sort(),
    ).toEqual(['GET /health/live', 'GET /health/ready', 'GET /metrics', 'POST /v1/auth/token']);
  });

  it('generates client types that a caller written from the SPEC type-checks against, and that refuse mistakes', async () => {
    await write('ok/api.ts', await clientTypes(doc, { defaultNonNullable: false }));
    await write('ok/usage.ts', USAGE);
    await write('ok/wrong.ts', WRONG);
    // openapi-typescript's default makes a field with a `default` required, so a caller would have to send
    // allowNegative and pending: the reason for defaultNonNullable: false above.
    await write('defaults/api.ts', await clientTypes(doc));
    await write('defaults/usage.ts', USAGE);
    // One error answer documented as plain JSON (as terminus's @HealthCheck documented /health/ready's 503):
    // the caller can no longer treat every error as a problem.
    const plain = structuredClone(doc);
    plain.paths['/health/ready'].get.responses['503'].content = {
      'application/json': { schema: { type: 'object', properties: { status: { type: 'string' } } } },
    };
    await write('plain/api.ts', await clientTypes(plain, { defaultNonNullable: false }));
    await write('plain/usage.ts', USAGE);

    const diagnostics = typeErrors(root, ['ok/usage.ts', 'ok/wrong.ts', 'defaults/usage.ts', 'plain/usage.ts']);
    const of = (file: string) => diagnostics.filter((d) => d.startsWith(`${file}:`));

    expect(of('ok/usage.ts')).toEqual([]);
    expect(of('ok/api.ts')).toEqual([]);

    const wrongLines = WRONG.split('\n')
      .map((line, i) => (line.includes('// WRONG') ? i + 1 : 0))
      .filter((n) => n > 0);
    const flagged = [...new Set(of('ok/wrong.ts').map((d) => Number(/^ok\/wrong\.ts:(\d+):/.exec(d)![1])))];
    expect(flagged.sort((a, b) => a - b)).toEqual(wrongLines);
    expect(of('ok/wrong.ts').join('\n')).toMatch(/normalBalance/);
    expect(of('ok/wrong.ts').join('\n')).toMatch(/'number' is not assignable to type 'string'/);
    expect(of('ok/wrong.ts').join('\n')).toMatch(/'"\/v1\/account"' is not assignable/);

    expect(of('defaults/usage.ts').join('\n')).toMatch(/allowNegative/);
    const readyLine = USAGE.split('\n').findIndex((line) => line.includes('fail(ready.error)')) + 1;
    expect(of('plain/usage.ts')).toEqual([
      expect.stringMatching(new RegExp(`^plain/usage\\.ts:${readyLine}: Argument of type .* is not assignable`)),
    ]);
  });
});
