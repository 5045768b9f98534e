/**
 * The schemathesis command line of the fuzz run (scripts/fuzz.ts), apart so that tests can hold
 * it to the configuration file they check.
 */
import path from 'node:path';
import { REPO_ROOT } from '@txhook/test-kit/launcher';

export const REPORT_DIR = path.join(REPO_ROOT, 'test-artifacts', 'schemathesis');

/** Which answers count as refusing invalid data (413 among them): see the file's comments. */
export const SCHEMATHESIS_CONFIG = path.join(REPO_ROOT, 'tests', 'fuzz', 'schemathesis.toml');

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

/** Arguments for `schemathesis` against the API at `baseUrl`, sending `operatorToken` as bearer. */
export function schemathesisArgs(baseUrl: string, operatorToken: string): string[] {
  return [
    '--config-file',
    SCHEMATHESIS_CONFIG,
    'run',
    `${baseUrl}/openapi.json`,
    '--url',
    baseUrl,
    // schemathesis leaves the schema's own path out unless asked; test every documented operation.
    '--include-path-regex',
    '^/',
    '--checks',
    CHECKS.join(','),
    '--header',
    `Authorization: Bearer ${operatorToken}`,
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
}
