// Consumer of the dead-letter queue: a message that exhausted its retries fails its run.
import { handleDeadLetter } from '@workflow/world-cloudflare';

export default {
  async queue(batch, env) {
    for (const message of batch.messages) {
      try {
        await handleDeadLetter(env, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
