import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { parseQueryString } from './http/query-string.js';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module.js';
import type { Config } from './config/config.js';
import { runMigrations } from './database/migrations.js';
import { BodyBudget, bodyBytes } from './http/body-budget.js';
import { drainBody } from './http/oversized-body.js';
import { problemBody, ProblemFilter } from './http/problem.filter.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { requestIdOf } from './http/request-id.js';
import { type FieldError, serviceUnavailable, ValidationFailed } from './http/problem.js';
import { inspectInput } from './http/body-guard.js';
import { validationPipe } from './http/validation.js';
import { MetricsService } from './metrics/metrics.service.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Builds the whole HTTP application; `main.ts` listens on it and the e2e tests drive it in-process. */
export async function createApp(config: Config & { databaseUrl: string }): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1000, querystringParser: parseQueryString },
    // Malformed URLs are refused by Fastify's router before Nest sees them; answer them as problem+json too.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const body = problemBody(
        new ValidationFailed([{ field: 'url', message: error.message }]),
        requestIdOf(request.raw),
      );
      void reply
        .status(400)
        .headers({ 'content-type': 'application/problem+json', 'x-request-id': body.requestId })
        .send(JSON.stringify(body));
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalPipes(validationPipe);

  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: Fastify's built-in text/plain parser would let a non-JSON body reach validation instead of a 415.
  fastify.removeContentTypeParser('text/plain');
  // Fastify's JSON parser refuses a "__proto__" key (or "constructor": {"prototype": …}) while parsing, before
  // anything walks the body, but says the body is not JSON. It is JSON with a field nobody accepts: 400
  // VALIDATION_FAILED naming it, as for any prototype-named field. Only a body the parser refused is parsed again.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parseJson(request, body as string, (error, value) => {
      const problem = error === null ? undefined : refusedField(body as string);
      if (problem === undefined) done(error, value);
      else done(new ValidationFailed([problem]), undefined);
    });
  });
  const metrics = app.get(MetricsService);
  const bodies = new BodyBudget(config.inFlightBodyBytes);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    const bytes = bodyBytes(request.headers, BODY_LIMIT_BYTES);
    if (bytes === 0) return;
    if (!bodies.take(bytes)) {
      const problem = serviceUnavailable('too many request bodies in flight; retry shortly', 1);
      const body = problemBody(problem, request.id);
      return reply
        .status(503)
        .headers({ 'content-type': 'application/problem+json', ...problem.headers })
        .send(JSON.stringify(body));
    }
    // 'close' comes once the answer is written or the connection is gone, whichever happens.
    reply.raw.once('close', () => bodies.give(bytes));
  });
  // The rest of a body refused as too large is read (up to a bound) before its 413 goes out: drainBody says why.
  // A callback hook, not an async one: it runs for every answer, and only a 413 has anything to wait for.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode !== 413) return done(null, payload);
    void drainBody(request.raw).then(() => done(null, payload));
  });
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration
      .labels(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });

  // Before init: start-up hooks (the admin bootstrap, the expiry sweeper) need the schema.
  await runMigrations(app.get(DataSource));
  await app.init();
  await fastify.ready();
  return app;
}

/** The refused field of a body that is valid JSON (a byte-order mark is allowed, as Fastify allows it). */
function refusedField(text: string): FieldError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return undefined;
  }
  return inspectInput(parsed, 'body');
}
