/**
 * scripts/bootstrap.sh takes named flags in any order and refuses unknown ones; every flag the
 * project's own commands pass is one it documents.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@txhook/test-kit';

function bootstrap(...args: string[]) {
  return spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'bootstrap.sh'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
}

it('refuses an unknown flag with its usage instead of ignoring it', () => {
  const result = bootstrap('--for-faults', '--with-embeded-db');
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('unknown option: --with-embeded-db');
  expect(result.stderr).toContain('Usage: bash scripts/bootstrap.sh');
});

it('documents in --help every flag that package.json, .ci/run and the scripts pass it', () => {
  const help = bootstrap('--help');
  expect(help.status).toBe(0);
  const callers = ['package.json', '.ci/run', 'scripts/fuzz.sh'].map((file) =>
    readFileSync(path.join(REPO_ROOT, file), 'utf8'),
  );
  const passed = new Set(
    callers.flatMap((text) =>
      [...text.matchAll(/bootstrap\.sh((?: --[a-z-]+)+)/g)].flatMap((m) => m[1]!.trim().split(' ')),
    ),
  );
  expect([...passed].sort()).toEqual(['--for-faults', '--for-fuzz', '--for-tests', '--with-embedded-db']);
  for (const flag of passed) expect(help.stdout).toMatch(new RegExp(`^  ${flag} `, 'm'));
});
