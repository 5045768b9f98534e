import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './launcher';

const DIR = path.join(REPO_ROOT, 'test-artifacts', 'reliability');

/** Keeps the measured figures of a fault scenario (test-artifacts/reliability/<name>.json) and prints them. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(DIR, { recursive: true });
  const entry = { scenario: name, measured_at: new Date().toISOString(), ...figures };
  writeFileSync(path.join(DIR, `${name}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  console.log(`${name}: ${JSON.stringify(figures)}`);
}
