/** `widget.js` as the Worker sees it: its source text (wrangler.toml's Text rule). */
declare const source: string;
export default source;
