// npm run lint: every repository path that a comment or a document cites must exist, so
// a reader can follow it. A path is a word starting with one of the top-level folders
// below and ending in a file extension; `<…>` and `*` patterns are not paths. A path is
// found from the repository root, from the citing file's crate (a `src/…` path in
// crates/<name>/ is that crate's), or, as configs cite them, from the citing file's folder.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './env.mjs';

const FOLDERS = [
  'src',
  'crates',
  'js',
  'tests',
  'docs',
  'bench',
  'scripts',
  'examples',
  'migrations',
  'pkg-template',
  '.ci',
];
const CITED = new RegExp(
  `(?<![\\w./-])((?:${FOLDERS.join('|')})/[\\w./@-]+\\.(?:jsonc|json|mjs|js|rs|ts|toml|md|sql|sh))`,
  'g',
);
const SOURCES = /\.(rs|mjs|js|ts|toml|md|sh|jsonc)$|^\.ci\/run$/;
// Built or fetched at run time, not in a clone.
const GENERATED = [/^pkg\//, /\/\.well-known\//, /^examples\/[^/]+\/\.well-known\//, /\.workflow\//];

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && SOURCES.test(f) && existsSync(path.join(ROOT, f)));
const missing = [];
for (const file of files) {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  for (const [, cited] of text.matchAll(CITED)) {
    const clean = cited.replace(/[.,)]+$/, '');
    if (GENERATED.some((g) => g.test(clean))) continue;
    const crate = /^crates\/[^/]+\//.exec(file)?.[0];
    const found =
      existsSync(path.join(ROOT, clean)) ||
      (crate !== undefined && existsSync(path.join(ROOT, crate, clean))) ||
      existsSync(path.join(ROOT, path.dirname(file), clean));
    if (!found) missing.push(`${file}: ${clean}`);
  }
}
if (missing.length) {
  console.error(`cited paths that do not exist (${missing.length}):\n  ${[...new Set(missing)].join('\n  ')}`);
  process.exit(1);
}
console.log(`check-paths: ${files.length} files, every cited path exists`);
