#!/usr/bin/env bash
# Makes a fresh checkout runnable: pnpm (pinned), the locked dependencies, and the jars of the
# embedded MongoDB stand-in. Cheap when everything is already in place, so `start` and `test`
# run it every time. Needs Node.js >= 20.19; Java 17+ and Maven for the embedded database.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION="$(node -p "require('./package.json').packageManager.split('@')[1]")"

node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Node.js >= 20.19 is required (found ${process.versions.node})`);
    process.exit(1);
  }'

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm@$PNPM_VERSION" >&2
  # corepack's download fails its signature check on some machines; npm works everywhere.
  npm install --global --silent "pnpm@$PNPM_VERSION" >&2 || {
    echo "bootstrap: could not install pnpm globally; run: npm i -g pnpm@$PNPM_VERSION" >&2
    exit 1
  }
fi

# pnpm keeps a copy of the lockfile it installed; identical means nothing to do.
if ! cmp -s pnpm-lock.yaml node_modules/.pnpm/lock.yaml 2>/dev/null; then
  echo "bootstrap: installing dependencies (pnpm install --frozen-lockfile)" >&2
  pnpm install --frozen-lockfile >&2
fi

if [ -z "${MONGODB_URL:-}" ] || [ "${1:-}" = "--with-embedded-db" ]; then
  bash packages/embedded-mongo/scripts/fetch-jars.sh >&2
fi
