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

# System packages the tests use (Debian): a JDK and Maven (embedded database), Chromium (dashboard
# test), faketime (clock-skew fault test). Installed when missing and we may (root with apt-get); otherwise the tests say what is missing.
need_apt=()
if [ "${1:-}" = "--with-embedded-db" ] || [ -z "${MONGODB_URL:-}" ]; then
  command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || need_apt+=(maven)
fi
if [ "${2:-}" = "--for-tests" ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  need_apt+=(chromium)
fi
# libfaketime skews worker clocks in the clock-skew fault test (tests/faults/clock-skew.test.ts).
if { [ "${2:-}" = "--for-tests" ] || [ "${2:-}" = "--for-faults" ]; } && ! command -v faketime >/dev/null; then
  need_apt+=(faketime)
fi
if [ "${#need_apt[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "bootstrap: installing ${need_apt[*]} (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The manifest tests (tests/deploy) render k8s/ with kustomize: `kubectl kustomize` when kubectl is
# there, else kustomize built from its Go module (pinned) into .cache/tools/bin (needs Go >= 1.22).
KUSTOMIZE_VERSION=v5.5.0
if [ "${2:-}" = "--for-tests" ] && [ -z "${KUSTOMIZE:-}" ] && [ ! -x .cache/tools/bin/kustomize ] \
  && ! command -v kustomize >/dev/null && ! command -v kubectl >/dev/null; then
  if command -v go >/dev/null; then
    echo "bootstrap: building kustomize $KUSTOMIZE_VERSION (go install) into .cache/tools/bin" >&2
    GOBIN="$PWD/.cache/tools/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  else
    echo "bootstrap: no kubectl, kustomize or Go: the k8s manifest tests cannot render k8s/" >&2
  fi
fi

if [ -z "${MONGODB_URL:-}" ] || [ "${1:-}" = "--with-embedded-db" ]; then
  bash packages/embedded-mongo/scripts/fetch-jars.sh >&2
fi
