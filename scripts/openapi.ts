/**
 * `npm run openapi`: writes src/contract/openapi.json from the request schemas
 * (src/contract/openapi.ts). Run it after changing a request schema or a route's
 * description; test/contract/openapi.test.ts fails until you do.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../src/contract/openapi';

const out = fileURLToPath(new URL('../src/contract/openapi.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(openApiDocument, null, 2)}\n`);
console.log(`wrote ${out}`);
