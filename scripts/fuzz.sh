#!/usr/bin/env bash
# `pnpm test:fuzz`: schemathesis against /openapi.json of the real API on 127.0.0.1 (embedded DB).
# Installs the pinned schemathesis into .cache/fuzz-venv once, then runs scripts/fuzz.ts, which
# starts the database and the API, runs the checks within a time budget and stops everything.
# FUZZ_MAX_EXAMPLES (default 300 per operation) and FUZZ_MAX_TIME (default 150 s) bound the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh --with-embedded-db --for-fuzz

VENV=.cache/fuzz-venv
REQUIREMENTS=tests/fuzz/requirements.txt
# Reinstall only when the pinned requirements change.
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.installed" 2>/dev/null; then
  command -v python3 >/dev/null || { echo "test:fuzz needs python3 (3.9+) with venv" >&2; exit 1; }
  echo "fuzz: installing $(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' ')into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$VENV/requirements.installed"
fi

export SCHEMATHESIS_BIN="$PWD/$VENV/bin/schemathesis"
exec bash scripts/ts.sh scripts/fuzz.ts
