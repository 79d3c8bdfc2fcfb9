import { generateKeyPairSync } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer, NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from '../app.module.js';
import { PUBLIC_KEY } from '../auth/roles.decorator.js';
import { loadConfig } from '../config/config.js';
import { ProblemDoc } from './api-problems.js';

const problemContent = () => ({
  'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDoc' } },
});

/** What every request with a body may be answered, whatever the route (SPEC section 2, `BodyBudget`). */
const BODY_ERRORS: Record<string, string> = {
  '413': 'PAYLOAD_TOO_LARGE: the body is over 1 MiB',
  '415': 'UNSUPPORTED_MEDIA_TYPE: the body is not application/json',
  '503':
    'SERVICE_UNAVAILABLE (with Retry-After): too many request bodies in flight, or the database is busy or away; nothing was written',
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The OpenAPI document served at `/docs-json`. It reads only decorator metadata, so it can be built from an
 * application created in Nest's preview mode, without a database (`scripts/openapi.mjs`, `npm run lint`).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Ledger service')
      .setDescription(
        'A double-entry ledger: accounts, transfers (single, batch, two-phase, reversals) and an append-only, ' +
          'hash-chained journal. Money is a decimal string of minor units. Errors are application/problem+json.',
      )
      .setVersion('1')
      // Relative: paths resolve against wherever this document was fetched from.
      .addServer('/', 'this service')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      // Deny by default, as the global AuthGuard is: `@Public()` routes opt out below.
      .addSecurityRequirements('bearer')
      .build(),
    {
      extraModels: [ProblemDoc],
      // Spelled out because publicOperationIds() below relies on it (it is also Nest's default).
      operationIdFactory: (controller, method) => `${controller}_${method}`,
    },
  );
  const open = publicOperationIds(app);
  for (const path of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = path[method];
      if (operation === undefined) continue;
      if (open.has(operation.operationId ?? '')) operation.security = [];
      if (operation.requestBody !== undefined) {
        for (const [status, description] of Object.entries(BODY_ERRORS)) {
          operation.responses[status] ??= { description, content: problemContent() };
        }
      }
      // Every error leaves through ProblemFilter as problem+json, whatever a library's decorator says it
      // answers (terminus's @HealthCheck documents its own 503 body, which no caller ever receives).
      for (const [status, response] of Object.entries(operation.responses)) {
        if (response === undefined || '$ref' in response || Number(status) < 400) continue;
        response.content = problemContent();
      }
    }
  }
  return document;
}

/**
 * The same document without a database: Nest's preview mode registers the modules and controllers but runs no
 * provider factory, so nothing connects. The configuration is a placeholder that nothing reads.
 */
export async function openApiDocumentWithoutDatabase(): Promise<OpenAPIObject> {
  const databaseUrl = 'postgres://preview.invalid/ledger';
  const placeholderKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const config = {
    ...loadConfig({ DATABASE_URL: databaseUrl, JWT_SECRET: 'x'.repeat(32), CHECKPOINT_SIGNING_KEY: placeholderKey }),
    databaseUrl,
  };
  const app = await NestFactory.create(AppModule.register(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** `Controller_method` of every route that `@Public()` opens, read the way the AuthGuard reads it. */
function publicOperationIds(app: INestApplication): Set<string> {
  const reflector = new Reflector();
  const ids = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (controller === null) continue;
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        if (reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [handler, controller]) === true) {
          ids.add(`${controller.name}_${name}`);
        }
      }
    }
  }
  return ids;
}
