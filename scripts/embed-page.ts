/**
 * An ordinary web page with the chat box's script tag on it, as a site would embed it: the
 * demo that `npm run dev` serves and the host pages of the browser tests (test/browser/).
 */

/** The script tag's attributes: the edge's `/embed.js` and a key or a token. */
export interface EmbedTag {
  src: string;
  key?: string;
  token?: string;
  tokenUrl?: string;
  expiresAt?: string;
  title?: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The one line a site adds where the chat box should appear. */
export function embedTag(tag: EmbedTag): string {
  const attributes = Object.entries({
    'data-key': tag.key,
    'data-token': tag.token,
    'data-token-url': tag.tokenUrl,
    'data-expires-at': tag.expiresAt,
    'data-title': tag.title,
  })
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escape(value!)}"`)
    .join('');
  return `<script src="${escape(tag.src)}"${attributes}></script>`;
}

/** A small page: a heading, some text, the chat box, and whatever `head` adds (styles). */
export function hostPage(
  tag: EmbedTag,
  page: { title?: string; intro?: string; head?: string } = {},
): string {
  const title = page.title ?? 'A page with a thinking-edge chat box';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>body{font:16px/1.5 Georgia,serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}</style>
${page.head ?? ''}
</head>
<body>
<h1>${escape(title)}</h1>
<p>${escape(page.intro ?? 'The chat box below is one script tag; its answers stream from thinking-edge.')}</p>
${embedTag(tag)}
</body>
</html>
`;
}
