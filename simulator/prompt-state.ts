// What one simulator instance remembers across requests about prompts: the prompt cache and the
// fingerprints behind the message ids it issued. `measure` sizes the prompt (and compacts it
// when a `compact_20260112` trigger is crossed) without side effects, `assess` then accounts it
// against the cache before a response is planned, `remember` runs once its id and content are
// known.

import type { BetaCompactionBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ContentBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { PromptCache } from './cache';
import { compactedView, compactionBlock, type ConversationView } from './compaction';
import type { Hmac } from './crypto';
import { fingerprint, Fingerprints, messageHash, type RequestPrint } from './diagnostics';
import { wireBlock } from './json';
import type { Plan, PromptFacts } from './plan';
import { promptLayout, type PromptLayout } from './prompt-layout';
import { tokensOf } from './synth';
import type { ValidRequest } from './validate';

/** The prompt of a request, sized: the one the answer is sampled from, and any compaction. */
interface Measured {
  view: ConversationView;
  /** The message iteration's prompt: after the compaction when there is one. */
  layout: PromptLayout;
  compaction: {
    block: BetaCompactionBlock;
    /** The prompt the compaction summarised (the effective history before it). */
    before: PromptLayout;
  } | null;
}

const NO_PROMPT = { input: 0, cacheRead: 0, cacheCreation: 0, creation5m: 0, creation1h: 0 };

export class PromptState {
  private readonly cache: PromptCache;
  private readonly prints = new Fingerprints();

  constructor(minCacheTokens: number, now: () => number) {
    this.cache = new PromptCache(minCacheTokens, now);
  }

  /** Sizes the prompt the model sees; compacts it when the request's trigger is crossed. */
  async measure(req: ValidRequest, view: ConversationView, hmac: Hmac): Promise<Measured> {
    const { speed } = req.latency;
    const layout = await promptLayout(req, speed, view);
    if (!req.compaction || layout.totalTokens <= req.compaction.trigger)
      return { view, layout, compaction: null };
    const block = await compactionBlock(hmac, view, req.compaction.instructions);
    const after = await promptLayout(req, speed, compactedView(view, block));
    return { view, layout: after, compaction: { block, before: layout } };
  }

  /**
   * Cache accounting. A compaction iteration reads the cached prefix of the prompt it
   * summarises and writes nothing; the message iteration (none after a pause) reads and writes
   * at the breakpoints that survive the compaction (tools, system, the last user message, the
   * top-level marker), so a system prompt cached before the compaction is still read.
   */
  async assess(
    req: ValidRequest,
    measured: Measured,
  ): Promise<{ facts: PromptFacts; print: RequestPrint }> {
    const { speed } = req.latency;
    const { compaction } = measured;
    const print = await fingerprint(req, speed, measured.view.messages);
    let compacted: PromptFacts['compaction'] = null;
    if (compaction) {
      const { block, before } = compaction;
      const cacheRead = this.cache.read(before, req.breakpoints);
      compacted = {
        block,
        prompt: { ...NO_PROMPT, cacheRead, input: before.totalTokens - cacheRead },
        outputTokens: tokensOf(block.content ?? ''),
      };
    }
    const paused = compaction !== null && req.compaction?.pause === true;
    const prompt = paused ? NO_PROMPT : this.cache.account(measured.layout, req.breakpoints);
    const previous = req.previousMessageId;
    const cacheMissReason =
      typeof previous === 'string' ? this.prints.diagnose(previous, print, prompt.cacheRead) : null;
    return {
      facts: { prompt, speed, cacheMissReason, compaction: compacted, iterations: req.compactBeta },
      print,
    };
  }

  async remember(plan: Plan, print: RequestPrint): Promise<void> {
    const content = plan.blocks.map(wireBlock) as unknown as ContentBlockParam[];
    const response = await messageHash({ role: 'assistant', content });
    const cached = plan.prompt.cacheRead + plan.prompt.cacheCreation;
    this.prints.remember(plan.id, print, response, cached);
  }
}
