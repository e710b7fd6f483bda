const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const req = new Request(input, init);
  const url = new URL(req.url);
  if (url.host === 'simulator.test') return new Response('sim');
  throw new Error(`unexpected outbound request to ${req.url}`);
}) as typeof fetch;
void realFetch;
