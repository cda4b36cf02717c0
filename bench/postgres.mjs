// A scratch PostgreSQL server for `npm run bench`: Debian's `postgresql`,
// installed with apt-get when missing, run as the `postgres` user in a temporary data
// directory on 127.0.0.1 with a free port, and removed again by stop().
//
//   const pg = await startPostgres(log);   // { url, version, stop() } or { skipped: reason }
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function pgBinDir() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : undefined;
}

function install(log) {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) return 'PostgreSQL is not installed and this is not root (apt-get install -y postgresql)';
  log('• installing PostgreSQL (apt-get install -y postgresql, about a minute)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'postgresql'],
  ]) {
    const r = spawnSync('apt-get', args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0)
      return `apt-get ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || '').slice(-500)}`;
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the `postgres` user (the server refuses root). */
function asPostgres(bin, args, options = {}) {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000, ...options });
}

export async function startPostgres(log = console.log) {
  let bin = pgBinDir();
  if (!bin) {
    const failed = install(log);
    if (failed) return { skipped: failed };
    bin = pgBinDir();
    if (!bin) return { skipped: 'apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl was found' };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wcf-bench-pg-'));
  const data = path.join(dir, 'data');
  let started = false;
  try {
    chmodSync(dir, 0o777);
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
    const port = await freePort();
    asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    asPostgres(path.join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      'start',
    ]);
    started = true;
    asPostgres(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'world']);
    const version = asPostgres(path.join(bin, 'postgres'), ['--version']).trim();
    return {
      url: `postgres://postgres@127.0.0.1:${port}/world`,
      version,
      stop() {
        try {
          asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    const reason = `${error.message}${error.stderr ? `: ${String(error.stderr).slice(-500)}` : ''}`;
    if (started) {
      try {
        asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
    return { skipped: `PostgreSQL could not start: ${reason}` };
  }
}
