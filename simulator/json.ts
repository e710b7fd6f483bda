// Renders a plan as the non-streaming JSON Message.

import type { Plan, PlannedBlock } from './plan';
import { diagnosticsOf, finalUsage } from './usage';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function wireBlock(block: PlannedBlock): Record<string, unknown> {
  switch (block.type) {
    case 'compaction':
      return {
        type: 'compaction',
        content: block.content,
        encrypted_content: block.encryptedContent,
      };
    case 'thinking':
      return { type: 'thinking', thinking: block.thinking, signature: block.signature };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: block.data };
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'unknown':
      return block.block;
  }
}

function messageBody(plan: Plan): Record<string, unknown> {
  return {
    id: plan.id,
    type: 'message',
    role: 'assistant',
    model: plan.model,
    content: plan.blocks.map(wireBlock),
    stop_reason: plan.stopReason,
    stop_sequence: plan.stopSequence,
    stop_details: plan.stopDetails,
    diagnostics: diagnosticsOf(plan),
    usage: finalUsage(plan),
  };
}

export async function jsonResponse(plan: Plan, requestId: string): Promise<Response> {
  const textDeltas = plan.blocks.reduce(
    (n, b) => n + (b.type === 'text' ? b.deltas.length - 1 : 0),
    0,
  );
  const delay = plan.compactMs + plan.thinkMs + plan.textDelayMs * Math.max(0, textDeltas);
  if (delay > 0) await sleep(delay);
  const json = JSON.stringify(messageBody(plan));
  const headers = { 'content-type': 'application/json', 'request-id': requestId };
  if (plan.fault !== 'drop') return new Response(json, { status: 200, headers });
  // The connection closes half-way through the body.
  const partial = new TextEncoder().encode(json.slice(0, Math.floor(json.length / 2)));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(partial);
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers });
}
