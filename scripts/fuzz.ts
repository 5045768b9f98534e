/**
 * Runs schemathesis against the real service: embedded database (memory backend) + API process
 * on 127.0.0.1, the schema read from its /openapi.json. Checks: no 5xx, responses, status codes,
 * content types and headers as documented, invalid input refused, 405 + Allow for undocumented
 * methods, a created transaction can be read back. Not checked: positive_data_acceptance (the
 * schema cannot say "decimals depend on the currency" or "accounts differ", so some documented-
 * valid bodies are rightly 400) and ignored_auth (the fuzzed API runs without WEBHOOK_SECRET so
 * bodies reach validation and the database; signatures are fuzzed in fuzz.property.test.ts).
 * Operator keys are on (OPERATOR_KEYS with one fresh `operate` key) and schemathesis sends that key
 * as a bearer header, so the operator operations are fuzzed behind their real access check.
 * Exits with schemathesis' status; everything it started is stopped first.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { REPO_ROOT, startApi, type AppProcess } from '@txhook/test-kit/launcher';
import { REPORT_DIR, schemathesisArgs } from './fuzz-args';

/** A key made for this run only: the API holds its SHA-256, schemathesis sends it. */
const OPERATOR_TOKEN = `txk_${randomBytes(32).toString('base64url')}`;
const OPERATOR_KEYS = `fuzz:operate:${createHash('sha256').update(OPERATOR_TOKEN).digest('hex')}`;

/** The API from source, on a free port; only its error lines are shown. */
function startFuzzedApi(mongoUrl: string): ReturnType<typeof startApi> {
  const env = { MONGODB_URL: mongoUrl, MONGODB_DB: 'fuzz', OPERATOR_KEYS };
  // 4xx answers are the point of fuzzing and are logged at info/warn: only errors are shown.
  return startApi(env, {
    onLine: (line) => {
      if (isErrorLine(line)) console.log(`[api] ${line}`);
    },
  });
}

/** A log line at level error, or a line that is not JSON at all (e.g. a crash). */
function isErrorLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { level?: string }).level === 'error';
  } catch {
    return true;
  }
}

function runSchemathesis(baseUrl: string): Promise<number> {
  const bin = process.env.SCHEMATHESIS_BIN ?? 'schemathesis';
  mkdirSync(REPORT_DIR, { recursive: true });
  const args = schemathesisArgs(baseUrl, OPERATOR_TOKEN);
  console.log(`$ schemathesis ${args.join(' ').replace(OPERATOR_TOKEN, '<operator token>')}`);
  // tests/fuzz/python/sitecustomize.py works around a CPython 3.11 ast bug inside Hypothesis.
  const pythonPath = [path.join(REPO_ROOT, 'tests', 'fuzz', 'python'), process.env.PYTHONPATH].filter(
    Boolean,
  );
  const child = spawn(bin, args, {
    cwd: REPORT_DIR,
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: pythonPath.join(path.delimiter) },
  });
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', (error) => {
      console.error(`could not run schemathesis: ${error.message}`);
      resolve(1);
    });
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const database = await startEmbeddedMongo({ backend: 'memory' });
  let api: AppProcess | undefined;
  try {
    const running = await startFuzzedApi(database.url);
    api = running.api;
    console.log(`fuzz: API at ${running.baseUrl}, embedded MongoDB at ${database.url}`);
    const status = await runSchemathesis(running.baseUrl);
    console.log(`fuzz: schemathesis exited ${status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return status;
  } finally {
    await api?.stop(10_000);
    await database.stop();
  }
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
