// Vite's `?raw` imports: the fixture file's text.
declare module '*?raw' {
  const text: string;
  export default text;
}
