/**
 * A proxy in front of the edge that can break a connection the way a mobile network or a
 * sleeping laptop does: it passes everything through (CORS preflights, Origin, Authorization)
 * but destroys the socket of a streamed `POST /v1/chat` whose question holds `[cut]` soon
 * after the answer's third `text` event, while the turn goes on at the edge. With `refuseEvents`
 * it also drops every `GET …/events`, so that a reattach can never succeed.
 */
import { createServer } from 'node:http';

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);
const TEXTS_BEFORE_CUT = 3;

export interface CuttingProxy {
  url: string;
  /** Streams cut so far. */
  cuts: number;
  refuseEvents: boolean;
  close(): Promise<void>;
}

export function startCuttingProxy(port: number, target: string): CuttingProxy {
  const proxy: CuttingProxy = {
    url: `http://127.0.0.1:${port}`,
    cuts: 0,
    refuseEvents: false,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (proxy.refuseEvents && req.method === 'GET' && req.url?.includes('/events')) {
      req.socket.destroy();
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers.set(name, value);
    }
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') out[name] = value;
    });
    res.writeHead(upstream.status, out);
    const cut = req.method === 'POST' && req.url === '/v1/chat' && body.includes('[cut]');
    let texts = 0;
    for await (const chunk of upstream.body ?? []) {
      texts += Buffer.from(chunk).toString().split('event: text\n').length - 1;
      if (cut && texts >= TEXTS_BEFORE_CUT) {
        // Flushed, and given time to reach the page's script: a stream that breaks drops what
        // the browser holds but the page has not read yet.
        await new Promise<void>((done) => res.write(chunk, () => done()));
        await new Promise((done) => setTimeout(done, 250));
        proxy.cuts++;
        res.destroy();
        return; // leaving the loop cancels the edge's stream: the edge sees its client go
      }
      res.write(chunk);
    }
    res.end();
  });
  server.listen(port, '127.0.0.1');
  return proxy;
}
