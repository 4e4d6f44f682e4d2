import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPENAPI_FILE, renderOpenApiDocument } from '../functions/api/openapi';

/** `npm run openapi`: regenerates the committed OpenAPI document from the route table. */
const target = join(__dirname, '..', OPENAPI_FILE);
writeFileSync(target, renderOpenApiDocument());
console.log(`wrote ${OPENAPI_FILE}`);
