import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/contract/openapi';
import served from '../../src/contract/openapi.json';
import { call } from '../helpers/api';

describe('the OpenAPI document the Worker serves', () => {
  it('is what the request schemas build today (else run `npm run openapi`)', () => {
    // A plain-JSON round trip, as the file was written: `as const` tuples become arrays.
    const built = JSON.parse(JSON.stringify(openApiDocument)) as unknown;
    expect(served, 'src/contract/openapi.json is stale: run `npm run openapi`').toEqual(built);
  });

  it('is served as written at GET /openapi.json', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(served);
  });
});
