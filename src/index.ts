/** Worker entry point: the Hono app, and the Durable Object classes the bindings name. */
import { app } from './app';

export default app satisfies ExportedHandler<Env>;
export { ConversationObject } from './conversation/object';
export { KeyLimiter } from './limits/limiter';
export { IdempotencyLedger } from './store/idempotency';
