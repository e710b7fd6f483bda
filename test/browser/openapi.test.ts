// The OpenAPI description as a client tool reads it, from a real `wrangler dev`. Here rather
// than in `npm test`: the validator compiles JSON Schemas into functions, which workerd
// forbids, and this suite runs in Node against the running edge.
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, inject, it } from 'vitest';
import { ADMIN_TOKEN } from './ports';

const edge = inject('edge');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const spec = await (await fetch(`${edge}/openapi.json`)).json();
    const result = await new Validator().validate(spec as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((spec as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });

  it("describes a turn's SSE events as the edge sends them: every frame has a documented event and its required data", async () => {
    const spec = (await (await fetch(`${edge}/openapi.json`)).json()) as any;
    const documented = new Map<string, string[]>(
      spec.components.schemas.TurnEvent.oneOf.map((e: any) => [
        e.properties.event.const,
        e.properties.data.required,
      ]),
    );
    const minted = await fetch(`${edge}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'openapi-sse', kind: 'secret' }),
    });
    const { key } = (await minted.json()) as { key: string };
    const text = await (
      await fetch(`${edge}/v1/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'hi', stream: true }),
      })
    ).text();
    const frames = text.split('\n\n').filter((f) => f.startsWith('id: '));
    expect(frames.length).toBeGreaterThan(3);
    for (const frame of frames) {
      const [, id, event, data] = /^id: (.+)\nevent: (.+)\ndata: (.+)$/.exec(frame)!;
      expect(id).toMatch(
        new RegExp(spec.components.schemas.TurnEvent.oneOf[0].properties.id.pattern),
      );
      expect(documented.has(event!), event).toBe(true);
      expect(Object.keys(JSON.parse(data!))).toEqual(
        expect.arrayContaining(documented.get(event!)!),
      );
    }
  });

  it('documents nothing the edge does not serve: every operation reaches a route', async () => {
    const spec = (await (await fetch(`${edge}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const minted = await fetch(`${edge}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'openapi', kind: 'secret' }),
    });
    const { key } = (await minted.json()) as { key: string };
    const methods = ['get', 'post', 'delete', 'put', 'patch'];
    let checked = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of methods.filter((m) => m in item)) {
        const url = `${edge}${path.replace(/\{[^}]+\}/g, 'c_openapiprobe')}`;
        const res = await fetch(url, {
          method: method.toUpperCase(),
          headers: {
            authorization: `Bearer ${path.startsWith('/admin') ? ADMIN_TOKEN : key}`,
            'content-type': 'application/json',
          },
          ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
        });
        const text = await res.text();
        // Unknown paths answer 404 "No endpoint at …", unserved methods 405: neither may appear.
        expect(`${method} ${path} → ${res.status} ${text.includes('No endpoint at')}`).toBe(
          `${method} ${path} → ${res.status} false`,
        );
        expect(res.status, `${method} ${path}`).not.toBe(405);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });
});
