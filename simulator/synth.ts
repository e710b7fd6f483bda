// Deterministic "model output": answer texts, thinking summaries, tool inputs from a JSON schema,
// and the way they are chunked into deltas.

type Schema = Record<string, unknown>;

/** A value that satisfies a (simple) JSON schema: strings "example", numbers 1, booleans true. */
export function synthesize(schema: unknown, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 8) return 'example';
  const s = schema as Schema;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if ('default' in s) return s.default;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length) return synthesize(options[0], depth + 1);
  }
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? 'null') : s.type;
  switch (type) {
    case 'string':
      return 'example';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return [synthesize(s.items, depth + 1)];
    case 'object':
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      if (type !== 'object' && !s.properties) return 'example';
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      const out: Record<string, unknown> = {};
      for (const name of new Set([...Object.keys(properties), ...required]))
        out[name] = synthesize(properties[name] ?? { type: 'string' }, depth + 1);
      return out;
    }
  }
}

const FILLER =
  'This answer comes from the Messages API simulator. It is deterministic for a given request, so tests can rely on it. No model was called to write it.';

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Exactly `n` words, starting with `text` and continuing with filler. */
export function words(text: string, n: number): string {
  const source = `${text} ${FILLER}`.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) out.push(source[i % source.length]!);
  return out.join(' ');
}

export function answerText(userText: string, wordCount?: number): string {
  const text = `You said: ${sentence(userText || '(nothing)')} ${FILLER}`;
  return wordCount ? words(text, wordCount) : text;
}

export function afterToolsText(
  results: readonly { name: string; text: string; isError: boolean }[],
  userText: string,
  wordCount?: number,
): string {
  const parts = results.map((r) =>
    r.isError
      ? `The ${r.name} tool reported an error: ${r.text || '(no details)'}`
      : `The ${r.name} tool returned: ${r.text || '(empty result)'}`,
  );
  const text = `${parts.map(sentence).join(' ')} You said: ${sentence(userText || '(nothing)')} ${FILLER}`;
  return wordCount ? words(text, wordCount) : text;
}

export function preToolText(name: string, count: number): string {
  return count > 1
    ? `I'll call the ${name} tool ${count} times in parallel.`
    : `I'll call the ${name} tool to help with that.`;
}

export function thinkingSummary(userText: string, step: number): string {
  const topic = userText.split(/\s+/).slice(0, 12).join(' ') || 'an empty message';
  return `Step ${step + 1}: the user wrote "${topic}". I should answer clearly and keep it short. Nothing here needs a tool unless one was offered.`;
}

/** Split text into deltas of `size` words (whitespace kept on the following word). */
export function wordChunks(text: string, size = 2): string[] {
  const tokens = text.match(/\s*\S+|\s+/g) ?? [text];
  const chunks: string[] = [];
  for (let i = 0; i < tokens.length; i += size) chunks.push(tokens.slice(i, i + size).join(''));
  return chunks.length ? chunks : [''];
}

/** Split text into `parts` roughly equal non-empty pieces at word boundaries. */
export function splitInto(text: string, parts: number): string[] {
  const tokens = text.match(/\s*\S+|\s+/g) ?? [text];
  const size = Math.max(1, Math.ceil(tokens.length / parts));
  return wordChunks(text, size);
}

/** input_json_delta chunks: first `""`, then fixed-size slices of the JSON. */
export function jsonChunks(json: string, size = 12): string[] {
  const chunks = [''];
  for (let i = 0; i < json.length; i += size) chunks.push(json.slice(i, i + size));
  return chunks;
}

export const tokensOf = (text: string): number => Math.ceil(text.length / 4);
