/**
 * docs/CONFIGURATION.md is the reference of every setting: this keeps it equal to the apps' config
 * schemas (names, which app reads each, defaults) and to the variables the sources read from the
 * environment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { apiConfigSchema } from '../../apps/api/src/config';
import { workerConfigSchema } from '../../apps/worker/src/config';
import { filesUnder, readDoc, ROOT, sections, tableRows } from './markdown';

const DOC = 'docs/CONFIGURATION.md';
const APP_SECTIONS = ['Both apps', 'API', 'Worker'];
const OUTSIDE_SECTION = 'Outside the apps: `npm start`, the embedded database, scripts and tests';
/** Read from the environment but not settings: the shell's paths, and a marker the test setup sets for itself. */
const NOT_SETTINGS = new Set(['PATH', 'PYTHONPATH', 'TEST_EMBEDDED_MONGO']);

/** What this test needs of a schema entry (a zod type): what it makes of an unset variable. */
type Shape = Record<string, { safeParse(value: undefined): { success: boolean; data?: unknown } }>;

const schemas: Record<'API' | 'Worker', Shape> = {
  API: apiConfigSchema.shape,
  Worker: workerConfigSchema.shape,
};
const schemaNames = [...new Set([...Object.keys(schemas.API), ...Object.keys(schemas.Worker)])].sort();

/** Where a schema variable belongs on the page: read by both apps, or by one of them. */
function expectedSection(name: string): string {
  const inApi = name in schemas.API;
  const inWorker = name in schemas.Worker;
  return inApi && inWorker ? 'Both apps' : inApi ? 'API' : 'Worker';
}

interface DocumentedVariable {
  name: string;
  defaultText: string;
  section: string;
}

function documentedVariables(): DocumentedVariable[] {
  const result: DocumentedVariable[] = [];
  for (const [section, text] of sections(readDoc(DOC))) {
    for (const [name = '', defaultText = ''] of tableRows(text)) {
      const variable = /^`([A-Z][A-Z0-9_]*)`$/.exec(name)?.[1];
      if (variable) result.push({ name: variable, defaultText, section });
    }
  }
  return result;
}

/** What each app's schema makes of the variable when it is unset, as text (undefined: no default). */
function schemaDefaults(name: string): (string | undefined)[] {
  return Object.values(schemas)
    .filter((shape) => name in shape)
    .map((shape) => {
      const parsed = shape[name]!.safeParse(undefined);
      const value: unknown = parsed.success ? parsed.data : undefined;
      if (value === undefined) return undefined;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new Error(`${name}: a default of type ${typeof value} needs its own rendering here`);
      }
      return String(value);
    });
}

/** Source files that configure or launch something (tests and bench knobs excluded). */
function sourceFiles(): string[] {
  return [
    ...filesUnder('apps', ['.ts']),
    ...filesUnder('packages', ['.ts']),
    ...filesUnder('scripts', ['.ts']),
  ].filter((file) => !file.split(path.sep).includes('test') && !file.endsWith('.test.ts'));
}

describe(DOC, () => {
  const documented = documentedVariables();
  const inAppSections = documented.filter((variable) => APP_SECTIONS.includes(variable.section));

  it('has each variable in exactly one row, each row in a known section', () => {
    const names = documented.map((variable) => variable.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    const known = [...APP_SECTIONS, OUTSIDE_SECTION];
    expect(documented.filter((variable) => !known.includes(variable.section))).toEqual([]);
  });

  it("lists in the apps' sections exactly the variables of the apps' config schemas", () => {
    expect(inAppSections.map((variable) => variable.name).sort()).toEqual(schemaNames);
  });

  it('lists each variable under the app that reads it, or under both', () => {
    const misplaced = inAppSections
      .filter((variable) => variable.section !== expectedSection(variable.name))
      .map(
        (variable) =>
          `${variable.name}: under ${variable.section}, read by ${expectedSection(variable.name)}`,
      );
    expect(misplaced).toEqual([]);
  });

  it('gives each variable the default its schema applies when it is unset', () => {
    const wrong = inAppSections.flatMap((variable) => {
      const defaults = new Set(schemaDefaults(variable.name));
      // A variable both apps read comes from one shared piece: one default.
      if (defaults.size !== 1) return [`${variable.name}: the apps' schemas disagree on its default`];
      const [value] = defaults;
      if (value === undefined) {
        // No literal default: the page must say what happens instead (unset, or how it is derived).
        return variable.defaultText === '' || /^`[^`]*`$/.test(variable.defaultText)
          ? [
              `${variable.name}: documented ${variable.defaultText || '(nothing)'}, but the schema has no default`,
            ]
          : [];
      }
      return variable.defaultText.includes(`\`${value}\``)
        ? []
        : [`${variable.name}: documented ${variable.defaultText}, schema default ${value}`];
    });
    expect(wrong).toEqual([]);
  });

  it('lists outside the apps only variables that some script, launcher or test reads', () => {
    const everything = [...sourceFiles(), ...filesUnder('tests', ['.ts']), ...filesUnder('scripts', ['.sh'])]
      .map((file) => readFileSync(path.join(ROOT, file), 'utf8'))
      .join('\n');
    const unread = documented
      .filter((variable) => variable.section === OUTSIDE_SECTION)
      .filter((variable) => !new RegExp(`\\b${variable.name}\\b`).test(everything))
      .map((variable) => variable.name);
    expect(unread).toEqual([]);
  });

  it('lists every variable the TypeScript sources read from the environment', () => {
    const read = new Set<string>();
    for (const file of sourceFiles()) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]*)/g)) read.add(match[1]!);
    }
    const names = new Set(documented.map((variable) => variable.name));
    // The check itself must see the launchers' variables, or it proves nothing.
    expect(read).toContain('WORKERS');
    expect([...read].filter((name) => !names.has(name) && !NOT_SETTINGS.has(name)).sort()).toEqual([]);
  });
});
