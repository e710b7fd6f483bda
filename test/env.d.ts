// Lets `exports.default` from `cloudflare:workers` carry the Worker's own type in tests.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../src/index');
  }
}

// Vite's `?raw` imports: the fixture file's text.
declare module '*?raw' {
  const text: string;
  export default text;
}
