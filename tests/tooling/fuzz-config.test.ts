/**
 * The fuzz run's schemathesis configuration (tests/fuzz/schemathesis.toml) counts every refusal
 * the API documents as a refusal: a documented 4xx answered to an invalid request must not fail
 * the negative_data_rejection check. A CI run failed that way on a 413 (oversized, invalid body).
 */
import { readFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../../apps/api/src/openapi';
import { SCHEMATHESIS_CONFIG, schemathesisArgs } from '../../scripts/fuzz-args';

/** The string array `key = [...]` in TOML table `[table]` (the file holds plain string arrays). */
function tomlStringArray(text: string, table: string, key: string): string[] {
  const start = text.indexOf(`[${table}]`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + table.length + 2);
  const body = rest.split(/^\[/m)[0] ?? '';
  const match = new RegExp(`^${key}\\s*=\\s*(\\[[^\\]]*\\])`, 'm').exec(body);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as string[];
}

it('lists every 4xx the API documents among the answers that refuse invalid data', () => {
  const refusals = tomlStringArray(
    readFileSync(SCHEMATHESIS_CONFIG, 'utf8'),
    'checks.negative_data_rejection',
    'expected-statuses',
  );
  const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, { responses: object }>> };
  const documented4xx = new Set(
    Object.values(doc.paths)
      .flatMap((operations) => Object.values(operations).flatMap((op) => Object.keys(op.responses)))
      .filter((code) => code.startsWith('4')),
  );
  expect(documented4xx).toContain('413');
  expect([...documented4xx].filter((code) => !refusals.includes(code))).toEqual([]);
});

it('is the configuration the fuzz run passes to schemathesis', () => {
  const args = schemathesisArgs('http://127.0.0.1:1', 'token');
  // A global option: schemathesis reads it only before the `run` command.
  expect(args.slice(0, 3)).toEqual(['--config-file', SCHEMATHESIS_CONFIG, 'run']);
});
