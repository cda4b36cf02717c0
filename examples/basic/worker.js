// The example's Worker: the README's queue consumer, and the World over HTTP for the
// Node host of the workflow routes (README "From Node").
import { handleQueueBatch, serveWorld } from '@workflow/world-cloudflare';

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/workflow-world') return serveWorld(request, env);
    return new Response('not found', { status: 404 });
  },

  queue: (batch, env) => handleQueueBatch(batch, env),
};
