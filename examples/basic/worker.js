// The example's Worker: the README's queue consumer, and the World over HTTP for the
// Node host of the workflow routes (README "From Node").
import { handleQueueMessage, serveWorld } from '@workflow/world-cloudflare';

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/workflow-world') return serveWorld(request, env);
    return new Response('not found', { status: 404 });
  },

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
