// The example app (examples/basic/app.mjs), whose Node host is on the World over HTTP, for
// the tests of tests/remote/: its D1 read directly with SQL (what the assertions compare
// with), and the env that points another process (the CLI, the web UI) at the same Worker.
import { startApp } from '../../examples/basic/app.mjs';
import { processEnv } from './processes.mjs';

/** Starts the app; `sql(query, ...params)` resolves to the rows of the example's D1. */
export async function startRemoteApp(options) {
  const app = await startApp(options);
  const { DB } = await app.harness.getWorker('world-cloudflare-example').getEnv();
  const sql = async (query, ...params) =>
    (
      await DB.prepare(query)
        .bind(...params)
        .all()
    ).results;
  return { app, db: DB, sql };
}

/** A child process's env with this World as its target, over HTTP to `app`'s Worker. */
export const remoteWorldEnv = (app) => ({
  ...processEnv,
  WORKFLOW_TARGET_WORLD: '@workflow/world-cloudflare/remote',
  WORKFLOW_CLOUDFLARE_URL: app.remote.url,
  WORKFLOW_REMOTE_SECRET: app.remote.secret,
});
