// The reference Worlds the example workflows also run on, to compare this World with: the
// e2e tests' world-local and the bench's world-local and world-postgres.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

/** @workflow/world-local 4.4.1 in `dataDir`, delivering its queue to the routes at `base`. */
export async function localWorld(dataDir, base) {
  process.env.WORKFLOW_LOCAL_BASE_URL = base;
  const { createLocalWorld } = await import('@workflow/world-local');
  return createLocalWorld({ dataDir, baseUrl: base });
}

/** @workflow/world-postgres 4.3.7 on the database at `postgresUrl`, delivering to `base`. */
export async function postgresWorld(postgresUrl, base) {
  // world-postgres delivers its queue jobs by HTTP to the routes at this base URL.
  process.env.WORKFLOW_LOCAL_BASE_URL = base;
  const { createWorld } = await import('@workflow/world-postgres');
  return createWorld({ connectionString: postgresUrl });
}

/**
 * Creates (or brings up to date) the schema of @workflow/world-postgres in the database at
 * `postgresUrl` with the package's own setup CLI (its SQL migrations and graphile-worker's).
 */
export function setupPostgres(postgresUrl) {
  const require = createRequire(import.meta.url);
  // dist/cli.js runs the setup when it is the main module (the package's `bootstrap` bin).
  const cli = require.resolve('@workflow/world-postgres/cli');
  const r = spawnSync(process.execPath, [cli], {
    env: { ...process.env, WORKFLOW_POSTGRES_URL: postgresUrl },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`world-postgres setup failed (exit ${r.status}): ${r.stderr || r.stdout}`);
}
