#!/usr/bin/env bash
# Makes a fresh checkout runnable. Cheap when everything is already in place, so `npm start`,
# `npm test` and the other commands run it every time. Needs Node.js >= 20.19.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
Usage: bash scripts/bootstrap.sh [--with-embedded-db] [--for-tests] [--for-faults] [--for-fuzz]

Always: checks Node.js, installs the pinned pnpm and the locked dependencies.
Without MONGODB_URL (or with --with-embedded-db): a JDK and Maven, and the jars of the embedded
MongoDB stand-in (packages/embedded-mongo).

  --with-embedded-db  the embedded database even when MONGODB_URL is set
  --for-tests         what `npm test` needs too: Chromium (dashboard test), faketime, kustomize
  --for-faults        what `npm run test:faults` needs too: faketime (clock-skew tests)
  --for-fuzz          what `npm run test:fuzz` needs too: Python 3 with venv (schemathesis)
  -h, --help          this text

System packages come from Debian (apt-get) when missing and this runs as root; otherwise it says
what is missing. CI (.ci/run) runs this with every flag before the suites.
USAGE
}

with_embedded_db=false
for_tests=false
for_faults=false
for_fuzz=false
for arg in "$@"; do
  case "$arg" in
    --with-embedded-db) with_embedded_db=true ;;
    --for-tests) for_tests=true ;;
    --for-faults) for_faults=true ;;
    --for-fuzz) for_fuzz=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bootstrap: unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
# No MONGODB_URL: `npm start` and the tests start the embedded database themselves.
if [ -z "${MONGODB_URL:-}" ]; then with_embedded_db=true; fi

node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Node.js >= 20.19 is required (found ${process.versions.node})`);
    process.exit(1);
  }'

PNPM_VERSION="$(node -p "require('./package.json').packageManager.split('@')[1]")"
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

# System packages (Debian), the one place they are named: what is missing, for what was asked.
missing=()
if $with_embedded_db; then
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || missing+=(maven)
fi
if $for_tests && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  missing+=(chromium) # headless, for the dashboard test; playwright-core never downloads one
fi
if { $for_tests || $for_faults; } && ! command -v faketime >/dev/null; then
  missing+=(faketime) # libfaketime skews clocks in the clock-skew fault tests
fi
if $for_fuzz && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3 python3-venv) # schemathesis runs in a venv (scripts/fuzz.sh)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages (Debian names): ${missing[*]}; the tests that need them will say so" >&2
  fi
fi

# The manifest tests (tests/deploy) render k8s/ with kustomize: `kubectl kustomize` when kubectl is
# there, else kustomize built from its Go module (pinned) into .cache/tools/bin (needs Go >= 1.22).
KUSTOMIZE_VERSION=v5.5.0
if $for_tests && [ -z "${KUSTOMIZE:-}" ] && [ ! -x .cache/tools/bin/kustomize ] \
  && ! command -v kustomize >/dev/null && ! command -v kubectl >/dev/null; then
  if command -v go >/dev/null; then
    echo "bootstrap: building kustomize $KUSTOMIZE_VERSION (go install) into .cache/tools/bin" >&2
    GOBIN="$PWD/.cache/tools/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  else
    echo "bootstrap: no kubectl, kustomize or Go: the k8s manifest tests cannot render k8s/" >&2
  fi
fi

if $with_embedded_db; then
  bash packages/embedded-mongo/scripts/fetch-jars.sh >&2
fi
