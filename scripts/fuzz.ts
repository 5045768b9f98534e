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
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';

const ROOT = path.resolve(__dirname, '..');
const REPORT_DIR = path.join(ROOT, 'test-artifacts', 'schemathesis');
/** A key made for this run only: the API holds its SHA-256, schemathesis sends it. */
const OPERATOR_TOKEN = `txk_${randomBytes(32).toString('base64url')}`;
const OPERATOR_KEYS = `fuzz:operate:${createHash('sha256').update(OPERATOR_TOKEN).digest('hex')}`;

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'missing_required_header',
  'unsupported_method',
  'allow_header_conformance',
  'use_after_free',
  'ensure_resource_availability',
];

function startApi(mongoUrl: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '-r', 'ts-node/register/transpile-only', 'apps/api/src/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        MONGODB_URL: mongoUrl,
        MONGODB_DB: 'fuzz',
        PORT: '0',
        NODE_ENV: 'test',
        OPERATOR_KEYS,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not ours to leave behind: the caller never gets a handle to stop it.
      child.kill('SIGKILL');
      reject(new Error('the API did not start within 60 s'));
    }, 60_000);
    child.once('exit', (code) => reject(new Error(`the API exited during start-up (code ${code})`)));
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        // Only errors are shown: 4xx answers are the point of fuzzing and are logged at info/warn.
        let entry: { message?: string; level?: string; port?: number } = {};
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          console.log(`[api] ${line}`);
          return;
        }
        if (entry.level === 'error') console.log(`[api] ${line}`);
        if (entry.message === 'api listening' && entry.port) {
          clearTimeout(timer);
          resolve({ child, baseUrl: `http://127.0.0.1:${entry.port}` });
        }
      });
    }
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function runSchemathesis(baseUrl: string): Promise<number> {
  const bin = process.env.SCHEMATHESIS_BIN ?? 'schemathesis';
  mkdirSync(REPORT_DIR, { recursive: true });
  const args = [
    'run',
    `${baseUrl}/openapi.json`,
    '--url',
    baseUrl,
    // schemathesis leaves the schema's own path out unless asked; test all four operations.
    '--include-path-regex',
    '^/',
    '--checks',
    CHECKS.join(','),
    '--header',
    `Authorization: Bearer ${OPERATOR_TOKEN}`,
    '--max-examples',
    process.env.FUZZ_MAX_EXAMPLES ?? '300',
    '--max-time',
    process.env.FUZZ_MAX_TIME ?? '150',
    '--workers',
    '2',
    '--request-timeout',
    '10',
    '--generation-database',
    'none',
    '--report',
    'junit,ndjson',
    '--report-dir',
    REPORT_DIR,
    '--no-color',
    ...(process.env.FUZZ_SEED ? ['--seed', process.env.FUZZ_SEED] : []),
  ];
  console.log(`$ schemathesis ${args.join(' ').replace(OPERATOR_TOKEN, '<operator token>')}`);
  const child = spawn(bin, args, { cwd: REPORT_DIR, stdio: 'inherit' });
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
  let api: ChildProcess | undefined;
  try {
    const running = await startApi(database.url);
    api = running.child;
    console.log(`fuzz: API at ${running.baseUrl}, embedded MongoDB at ${database.url}`);
    const status = await runSchemathesis(running.baseUrl);
    console.log(`fuzz: schemathesis exited ${status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return status;
  } finally {
    if (api) await stop(api);
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
