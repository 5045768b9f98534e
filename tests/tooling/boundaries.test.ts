/**
 * The import-boundary check of `npm run lint` (.dependency-cruiser.cjs) run on a small tree made
 * for the purpose: every rule fires on the import it forbids, and allowed imports pass.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@txhook/test-kit';

const DEPCRUISE = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Writes `files` into a fresh folder with the repository's boundary config, cruises it. */
function cruise(files: Record<string, string>): { status: number | null; violations: Violation[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-boundaries-'));
  try {
    copyFileSync(path.join(REPO_ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(path.join(dir, 'tsconfig.test.json'), '{ "compilerOptions": { "strict": true } }\n');
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    const depcruise = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [DEPCRUISE, 'apps', 'packages', 'tests', '--config', '.dependency-cruiser.cjs', ...args],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
    // As `npm run lint` runs it (its exit status), then as JSON (what it found).
    const lint = depcruise();
    const report = JSON.parse(depcruise('--output-type', 'json').stdout) as {
      summary: { violations: Violation[] };
    };
    return { status: lint.status, violations: report.summary.violations };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('passes a tree where apps import packages and tests import anything', () => {
  const { status, violations } = cruise({
    'packages/core/src/index.ts': 'export const core = 1;\n',
    'apps/api/src/main.ts':
      "import { core } from '../../../packages/core/src/index';\nexport const api = core;\n",
    'tests/api.test.ts': "import { api } from '../apps/api/src/main';\nexport const seen = api;\n",
  });
  expect(violations).toEqual([]);
  expect(status).toBe(0);
});

it('fails on a package importing an app, an app importing another, product code importing tests, and a cycle', () => {
  const { status, violations } = cruise({
    'apps/api/src/main.ts': 'export const api = 1;\n',
    'apps/worker/src/main.ts': "import { api } from '../../api/src/main';\nexport const worker = api;\n",
    'packages/core/src/index.ts':
      "import { api } from '../../../apps/api/src/main';\nexport const core = api;\n",
    'packages/core/src/a.ts':
      "import { b } from './b';\nimport { helper } from '../../../tests/helper';\nexport const a = () => b() + helper;\n",
    'packages/core/src/b.ts': "import { a } from './a';\nexport const b = (): number => (a ? 1 : 0);\n",
    'tests/helper.ts': 'export const helper = 1;\n',
  });
  const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
  expect(found).toEqual([
    'app-imports-other-app: apps/worker/src/main.ts -> apps/api/src/main.ts',
    'no-circular: packages/core/src/a.ts -> packages/core/src/b.ts',
    'package-imports-app: packages/core/src/index.ts -> apps/api/src/main.ts',
    'product-imports-tooling: packages/core/src/a.ts -> tests/helper.ts',
  ]);
  expect(status).not.toBe(0);
});

it('fails on @txhook/platform importing @txhook/transactions (the domain builds on the platform)', () => {
  const { status, violations } = cruise({
    'apps/api/src/main.ts':
      "import { tx } from '../../../packages/transactions/src/index';\nexport const api = tx;\n",
    'tests/api.test.ts': "import { api } from '../apps/api/src/main';\nexport const seen = api;\n",
    'packages/transactions/src/index.ts':
      "import { platform } from '../../platform/src/index';\nexport const tx = platform;\n",
    'packages/platform/src/index.ts': 'export const platform = 1;\n',
    'packages/platform/src/config.ts':
      "import { tx } from '../../transactions/src/index';\nexport const config = tx;\n",
  });
  const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  expect(found).toEqual([
    'platform-imports-transactions: packages/platform/src/config.ts -> packages/transactions/src/index.ts',
  ]);
  expect(status).not.toBe(0);
});
