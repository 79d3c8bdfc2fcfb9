// Writes the OpenAPI document the service serves at /docs-json to a file, built without a database, so that
// `npm run lint` can run `redocly lint` on it. Reads the compiled code: `npm run build` first.
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { openApiDocumentWithoutDatabase } from '../dist/src/http/openapi.js';

const out = process.argv[2] ?? 'dist/openapi.json';
await writeFile(out, `${JSON.stringify(await openApiDocumentWithoutDatabase(), null, 2)}\n`);
