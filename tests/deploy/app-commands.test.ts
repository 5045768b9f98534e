/**
 * The remaining places that spell out how an app is launched by hand, each held to the launcher's
 * table (APP_ENTRIES): the per-app package scripts (`pnpm start:api`, `pnpm start:worker`) and the
 * Dockerfile's default command and its example worker command. Compose, Kubernetes and `npm start`
 * are checked in their own suites.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_ENTRIES } from '@txhook/test-kit/launcher';
import { deployedCommand } from './app-facts';

const root = join(__dirname, '..', '..');
const APPS = Object.keys(APP_ENTRIES) as (keyof typeof APP_ENTRIES)[];

it('runs each app from source with its own node flags in its package script', () => {
  const scripts = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  for (const app of APPS) {
    const expected = ['bash scripts/ts.sh', ...APP_ENTRIES[app].nodeFlags, APP_ENTRIES[app].source].join(' ');
    expect({ script: `start:${app}`, command: scripts[`start:${app}`] }).toEqual({
      script: `start:${app}`,
      command: expected,
    });
  }
});

it("runs the API by default and shows the worker's command, flags included, in the Dockerfile", () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
  expect(cmd).not.toBeNull();
  expect(JSON.parse(cmd![1]!)).toEqual(deployedCommand('api'));
  const workerExample = dockerfile.split('\n').find((line) => line.includes(APP_ENTRIES.worker.compiled));
  expect(workerExample).toContain(`txhook ${deployedCommand('worker').join(' ')}`);
});
