/**
 * `GET /openapi.json` and `GET /docs`. The document is built from the request schemas ahead
 * of time (contract/openapi.ts, `npm run openapi`) and served as it was written.
 */
import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import spec from '../contract/openapi.json';
import type { AppEnv } from '../env';

export const docs = new Hono<AppEnv>();

docs.get('/openapi.json', (c) => c.json(spec));

docs.get('/docs', (c) => {
  const rows = Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => method !== 'parameters')
      .map(
        ([method, op]) =>
          html`<tr>
            <td><code>${method.toUpperCase()} ${path}</code></td>
            <td>${(op as { summary: string }).summary}</td>
          </tr>`,
      ),
  );
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>thinking-edge API</title>
          <style>
            body {
              font:
                16px/1.5 system-ui,
                sans-serif;
              max-width: 60rem;
              margin: 2rem auto;
              padding: 0 1rem;
            }
            td {
              padding: 0.3rem 0.8rem;
              border-bottom: 1px solid #ddd;
            }
            pre {
              background: #f6f6f6;
              padding: 1rem;
              overflow: auto;
            }
          </style>
        </head>
        <body>
          <h1>thinking-edge</h1>
          <p>${spec.info.description}</p>
          <p>
            Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticate with
            <code>Authorization: Bearer &lt;key&gt;</code>.
          </p>
          <table>
            ${rows}
          </table>
          <h2>POST /v1/chat body</h2>
          <pre>
${raw(JSON.stringify(spec.components.schemas.ChatRequest, null, 2).replace(/</g, '&lt;'))}</pre>
        </body>
      </html>`,
  );
});
