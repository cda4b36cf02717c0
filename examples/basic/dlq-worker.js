// Consumer of the dead-letter queue: a message that exhausted its retries fails its run
// (handleQueueBatch answers the workflow-dlq queue with handleDeadLetter).
import { handleQueueBatch } from '@workflow/world-cloudflare';

export default {
  queue: (batch, env) => handleQueueBatch(batch, env),
};
