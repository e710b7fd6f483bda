// Stateless, HMAC-based artefacts the simulator hands out and later verifies:
//  - thinking `signature` and redacted_thinking `data` (base64 of a 152-byte sealed record);
//  - tool_use ids (`toolu_01` + 22 base62 chars) that seal the issued assistant message up to them.
// A restarted simulator with the same secret verifies what an earlier one issued.

import {
  bytesEqual,
  concatBytes,
  fromBase62,
  fromBase64,
  Hmac,
  sha256,
  toBase62,
  toBase64,
  utf8,
} from './crypto';
import { stableStringify } from './canonical';

export type SealedKind = 'thinking' | 'redacted_thinking';

export interface ThinkingClaims {
  kind: SealedKind;
  /** Issued with display `summarized`: then its thinking text is part of the block. */
  summarized: boolean;
  /** Index among the message's known blocks. */
  position: number;
  thinkingTokens: number;
  /** Binding to system + tools + earlier messages (16 bytes). */
  prefix: Uint8Array;
  /** Binding to the earlier blocks of the same message (16 bytes). */
  blockPrefix: Uint8Array;
  /** Hash of the summarized thinking text, zeros when omitted (16 bytes). */
  summary: Uint8Array;
}

const MAGIC = 0x53; // 'S'
const VERSION = 1;
const KIND_CODE: Record<SealedKind, number> = { thinking: 1, redacted_thinking: 2 };
const HEADER = 8;
const FILLER = 64;
const MAC = 32;
const RECORD = HEADER + 48 + FILLER + MAC;

const ZERO16 = new Uint8Array(16);

export async function summaryHash(text: string | null): Promise<Uint8Array> {
  if (text === null) return ZERO16;
  return (await sha256(text)).slice(0, 16);
}

function u16(n: number): [number, number] {
  const v = Math.max(0, Math.min(0xffff, Math.round(n)));
  return [v >> 8, v & 0xff];
}

export async function sealThinking(hmac: Hmac, claims: ThinkingClaims): Promise<string> {
  const header = new Uint8Array([
    MAGIC,
    VERSION,
    KIND_CODE[claims.kind],
    claims.summarized ? 1 : 0,
    ...u16(claims.position),
    ...u16(claims.thinkingTokens),
  ]);
  const body = concatBytes(header, claims.prefix, claims.blockPrefix, claims.summary);
  return sealRecord(hmac, body, { fillA: 'fill-a', fillB: 'fill-b', seal: 'seal' });
}

/**
 * `body`, then filler — a stand-in for the encrypted data a real record carries: opaque,
 * deterministic bytes — then the HMAC over both, base64. Each kind of record has its labels.
 */
async function sealRecord(
  hmac: Hmac,
  body: Uint8Array,
  labels: { fillA: string; fillB: string; seal: string },
): Promise<string> {
  const filler = concatBytes(
    await hmac.sign(labels.fillA, body),
    await hmac.sign(labels.fillB, body),
  );
  const sealed = concatBytes(body, filler.slice(0, FILLER));
  return toBase64(concatBytes(sealed, await hmac.sign(labels.seal, sealed)));
}

/** The claims of a sealed record this simulator issued, or null for anything else. */
export async function openThinking(
  hmac: Hmac,
  text: unknown,
  kind: SealedKind,
): Promise<ThinkingClaims | null> {
  if (typeof text !== 'string') return null;
  const bytes = fromBase64(text);
  if (!bytes || bytes.length !== RECORD) return null;
  const sealed = bytes.slice(0, RECORD - MAC);
  if (!bytesEqual(bytes.slice(RECORD - MAC), await hmac.sign('seal', sealed))) return null;
  if (bytes[0] !== MAGIC || bytes[1] !== VERSION || bytes[2] !== KIND_CODE[kind]) return null;
  return {
    kind,
    summarized: bytes[3] === 1,
    position: (bytes[4]! << 8) | bytes[5]!,
    thinkingTokens: (bytes[6]! << 8) | bytes[7]!,
    prefix: bytes.slice(8, 24),
    blockPrefix: bytes.slice(24, 40),
    summary: bytes.slice(40, 56),
  };
}

// ---- tool_use ids -------------------------------------------------------------------------

export interface ToolUseClaims {
  prefix: Uint8Array;
  blockPrefix: Uint8Array;
  position: number;
  /** thinking + redacted_thinking blocks issued before this tool_use in the same message. */
  thinkingBefore: number;
  name: string;
  input: unknown;
}

const ID_MAGIC = [0x5a, 0x17];
const ID_PREFIX = 'toolu_01';

async function toolMac(hmac: Hmac, c: ToolUseClaims): Promise<Uint8Array> {
  const meta = new Uint8Array([Math.min(255, c.position), Math.min(255, c.thinkingBefore)]);
  const tool = utf8(stableStringify({ name: c.name, input: c.input ?? {} }));
  return (await hmac.sign('tool_use', c.prefix, c.blockPrefix, meta, tool)).slice(0, 12);
}

export async function issueToolUseId(hmac: Hmac, claims: ToolUseClaims): Promise<string> {
  const bytes = new Uint8Array([
    ...ID_MAGIC,
    Math.min(255, claims.position),
    Math.min(255, claims.thinkingBefore),
    ...(await toolMac(hmac, claims)),
  ]);
  return ID_PREFIX + toBase62(bytes);
}

/** What a simulator-shaped tool_use id claims, before any MAC check (null: not ours). */
export function readToolUseId(id: unknown): { position: number; thinkingBefore: number } | null {
  if (typeof id !== 'string' || !id.startsWith(ID_PREFIX) || id.length !== ID_PREFIX.length + 22)
    return null;
  const bytes = fromBase62(id.slice(ID_PREFIX.length));
  if (!bytes || bytes[0] !== ID_MAGIC[0] || bytes[1] !== ID_MAGIC[1]) return null;
  return { position: bytes[2]!, thinkingBefore: bytes[3]! };
}

export async function verifyToolUseId(
  hmac: Hmac,
  id: string,
  claims: ToolUseClaims,
): Promise<boolean> {
  const bytes = fromBase62(id.slice(ID_PREFIX.length));
  if (!bytes || readToolUseId(id) === null) return false;
  return bytesEqual(bytes.slice(4), await toolMac(hmac, claims));
}

// ---- compaction blocks ----------------------------------------------------------------------

const COMPACTION_MAGIC = 0x43; // 'C'
const COMPACTION_HEADER = 4;
const COMPACTION_RECORD = COMPACTION_HEADER + 16 + FILLER + MAC;

/**
 * `encrypted_content` of a compaction block: base64 of a record that binds the block's summary
 * `content` (its hash), an opaque filler standing in for the encrypted context, and a MAC.
 */
export async function sealCompaction(hmac: Hmac, content: string): Promise<string> {
  const header = new Uint8Array([COMPACTION_MAGIC, VERSION, 0, 0]);
  const body = concatBytes(header, await summaryHash(content));
  return sealRecord(hmac, body, {
    fillA: 'compaction-fill-a',
    fillB: 'compaction-fill-b',
    seal: 'compaction',
  });
}

/** Whether `encrypted` was sealed by this simulator for exactly this `content`. */
export async function openCompaction(
  hmac: Hmac,
  encrypted: unknown,
  content: string,
): Promise<boolean> {
  if (typeof encrypted !== 'string') return false;
  const bytes = fromBase64(encrypted);
  if (!bytes || bytes.length !== COMPACTION_RECORD) return false;
  const sealed = bytes.slice(0, COMPACTION_RECORD - MAC);
  if (!bytesEqual(bytes.slice(COMPACTION_RECORD - MAC), await hmac.sign('compaction', sealed)))
    return false;
  if (bytes[0] !== COMPACTION_MAGIC || bytes[1] !== VERSION) return false;
  return bytesEqual(
    bytes.slice(COMPACTION_HEADER, COMPACTION_HEADER + 16),
    await summaryHash(content),
  );
}
