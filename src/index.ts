export default {
  async fetch(req: Request): Promise<Response> {
    const r = await fetch('http://simulator.test/ping');
    return new Response('ok ' + (await r.text()));
  },
};
