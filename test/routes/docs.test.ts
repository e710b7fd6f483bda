import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { call } from '../helpers/api';

describe('API description', () => {
  it('serves an OpenAPI document whose chat schema is the validator itself', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    const spec = (await res.json()) as any;
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/chat', '/v1/conversations/{id}', '/admin/keys']),
    );
    const chat = spec.components.schemas.ChatRequest;
    expect(Object.keys(chat.properties)).toEqual(
      expect.arrayContaining([
        'conversation_id',
        'message',
        'tool_results',
        'thinking',
        'tools',
        'stream',
        'user',
      ]),
    );
    expect(chat.additionalProperties).toBe(false);
    expect(chat.properties.user).toMatchObject({ type: 'string', minLength: 1, maxLength: 256 });
    expect(spec.components.schemas.JobRequest.properties.user).toEqual(chat.properties.user);
    expect(Object.keys(spec.components.schemas.NewKey.properties.limits.properties)).toEqual([
      'requests_per_minute',
      'concurrent_streams',
      'tokens_per_day',
      'per_user',
    ]);
    const usage = spec.paths['/v1/usage'].get;
    expect(usage.parameters).toEqual([
      expect.objectContaining({ name: 'user', in: 'query', required: false }),
    ]);
  });

  it('describes every route the Worker serves, with its methods', async () => {
    const spec = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(5);
    for (const route of served) {
      const [method, path] = route.split(' ') as [string, string];
      expect(spec.paths[path]?.[method.toLowerCase()], route).toBeDefined();
    }
  });

  it('serves human-readable docs at /docs', async () => {
    const res = await call('/docs');
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const page = await res.text();
    expect(page).toContain('POST /v1/chat');
    expect(page).toContain('/openapi.json');
  });

  it('answers /health without auth', async () => {
    const res = await call('/health');
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
