import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = join(__dirname, '..', '..');

/** A rendered Kubernetes object, before the tests look at it as one kind or another. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

function runs(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * How to run `kustomize build`: $KUSTOMIZE, the copy scripts/bootstrap.sh installs, `kustomize`
 * on PATH, or `kubectl kustomize` (kubectl embeds kustomize).
 */
function kustomizeCommand(): [string, string[]] {
  const bootstrapped = join(root, '.cache', 'tools', 'bin', 'kustomize');
  if (process.env.KUSTOMIZE) return [process.env.KUSTOMIZE, ['build']];
  if (existsSync(bootstrapped)) return [bootstrapped, ['build']];
  if (runs('kustomize', ['version'])) return ['kustomize', ['build']];
  if (runs('kubectl', ['version', '--client'])) return ['kubectl', ['kustomize']];
  throw new Error(
    'no kustomize: run `bash scripts/bootstrap.sh --with-embedded-db --for-tests` (it installs one)',
  );
}

/** Renders a kustomization directory (relative to the repository) into its objects. */
export function render(dir: string): K8sObject[] {
  const [command, args] = kustomizeCommand();
  const yaml = execFileSync(command, [...args, join(root, dir)], { encoding: 'utf8' });
  return parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** Runs validate-models.mjs (ES modules, so outside Jest's module system) on the objects. */
export function validateAgainstSchemas(
  objects: unknown[],
): { kind: string; name: string; error: string | null }[] {
  const output = execFileSync(process.execPath, [join(__dirname, 'validate-models.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    cwd: root,
  });
  return JSON.parse(output) as { kind: string; name: string; error: string | null }[];
}
