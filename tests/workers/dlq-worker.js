// Dead-letter consumer of the local harness (tests/workers/wrangler.dlq.toml): a Worker of
// its own next to the fixture Worker, consuming workflow-dlq. Each message the main
// consumer gave up on (max_retries exhausted) goes through handleQueueBatch, which hands a
// workflow-dlq message to handleDeadLetter: its run is failed (MAX_DELIVERIES_EXCEEDED) so
// the run does not hang silently.
// It also records one `source = 'dlq'` row in test_deliveries per message (the outcome
// and a short description of the raw body), so tests can see what reached the DLQ.
import { handleQueueBatch } from '../../js/worker.js';
import { copyOf } from '../support/message-copy.mjs';
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
      const { seen, stand } = copyOf(message);
      await handleQueueBatch({ queue: batch.queue, messages: [stand] }, env);
      // handleQueueBatch logged the error of a retried one.
      await note(env, message, seen.outcome === 'ack' ? 'handled' : 'retried');
      if (seen.outcome === 'ack') message.ack();
      else message.retry();
    }
  },
};
