/** Worker entry point: the Hono app, the queues' consumer, and the Durable Object classes. */
import { app } from './app';
import type { JobMessage } from './contract/queue-messages';
import { consume } from './queues/consumer';

export default {
  fetch: app.fetch,
  queue: consume,
} satisfies ExportedHandler<Env, JobMessage>;
export { ConversationObject } from './conversation/object';
export { KeyLimiter } from './limits/limiter';
export { IdempotencyLedger } from './store/idempotency';
