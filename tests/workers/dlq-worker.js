// Dead-letter consumer of the local harness (tests/workers/wrangler.dlq.toml): a Worker of
// its own next to the fixture Worker, consuming workflow-dlq. Each message the main
// consumer gave up on (max_retries exhausted) goes to handleDeadLetter, which marks its
// run failed (MAX_DELIVERIES_EXCEEDED) so the run does not hang silently.
// It also records one `source = 'dlq'` row in test_deliveries per message (the outcome
// and a short description of the raw body), so tests can see what reached the DLQ.
import { handleDeadLetter } from '../../js/worker.js';
import { ensureDeliveriesTable, summarize } from '../support/queue-probe.mjs';

async function note(env, message, outcome) {
  try {
    await ensureDeliveriesTable(env.DB);
    const body = JSON.stringify(summarize(message.body)) ?? 'undefined';
    await env.DB.prepare(
      'INSERT INTO test_deliveries (tag, source, attempt, queue_name, message_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
      .bind(outcome, 'dlq', message.attempts, 'workflow-dlq', message.id, body.slice(0, 2000), Date.now())
      .run();
  } catch (e) {
    console.error('dlq-worker: cannot record', e);
  }
}

export default {
  async fetch() {
    return new Response('dlq consumer');
  },

  async queue(batch, env) {
    for (const message of batch.messages) {
      try {
        await handleDeadLetter(env, message);
        await note(env, message, 'handled');
        message.ack();
      } catch (e) {
        console.error('dlq-worker: handleDeadLetter failed', e);
        await note(env, message, `error: ${e?.name}: ${e?.message}`);
        message.retry();
      }
    }
  },
};
