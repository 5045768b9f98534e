#!/usr/bin/env bash
# Runs a TypeScript entry point from source: `bash scripts/ts.sh [node flags] FILE.ts [args]`.
# The one place the ts-node command is written; package.json scripts, fuzz.sh and the process
# launcher (packages/test-kit/src/launcher.ts) all go through it. --conditions=development makes
# the workspace packages resolve to their src/ (their package.json "exports"), so nothing needs
# building first; transpile-only because `pnpm typecheck` is where types are checked.
exec node --conditions=development -r ts-node/register/transpile-only "$@"
