/** Worker entry point. */
import { app } from './app';

export default app satisfies ExportedHandler<Env>;
export { KeyLimiter } from './limits/limiter';
export { IdempotencyLedger } from './store/idempotency';
export { TurnSequencer } from './turn-runner';
