// The example's queue consumer: exactly the README's Worker.
import { handleQueueMessage } from '@workflow/world-cloudflare';

export default {
  async queue(batch, env) {
    for (const message of batch.messages) {
      try {
        await handleQueueMessage(env, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
