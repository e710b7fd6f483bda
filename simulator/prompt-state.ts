// What one simulator instance remembers across requests about prompts: the prompt cache and the
// fingerprints behind the message ids it issued. `assess` runs before a response is planned,
// `remember` once its id and content are known.

import type { ContentBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { PromptCache } from './cache';
import { fingerprint, Fingerprints, messageHash, type RequestPrint } from './diagnostics';
import { wireBlock } from './json';
import type { Plan, PromptFacts } from './plan';
import { promptLayout } from './prompt-layout';
import type { ValidRequest } from './validate';

export class PromptState {
  private readonly cache: PromptCache;
  private readonly prints = new Fingerprints();

  constructor(minCacheTokens: number, now: () => number) {
    this.cache = new PromptCache(minCacheTokens, now);
  }

  async assess(req: ValidRequest): Promise<{ facts: PromptFacts; print: RequestPrint }> {
    const { speed } = req.latency;
    const layout = await promptLayout(req, speed);
    const print = await fingerprint(req, speed);
    const prompt = this.cache.account(layout, req.breakpoints);
    const previous = req.previousMessageId;
    const cacheMissReason =
      typeof previous === 'string' ? this.prints.diagnose(previous, print, prompt.cacheRead) : null;
    return { facts: { prompt, speed, cacheMissReason }, print };
  }

  async remember(plan: Plan, print: RequestPrint): Promise<void> {
    const content = plan.blocks.map(wireBlock) as unknown as ContentBlockParam[];
    const response = await messageHash({ role: 'assistant', content });
    const cached = plan.prompt.cacheRead + plan.prompt.cacheCreation;
    this.prints.remember(plan.id, print, response, cached);
  }
}
