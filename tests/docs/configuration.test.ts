/**
 * docs/CONFIGURATION.md is the reference of every setting: this keeps it equal to the apps' config
 * schemas (names and defaults) and to the variables the sources read from the environment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '@txhook/shared';
import { filesUnder, readDoc, ROOT, sections, tableRows } from './markdown';

const DOC = 'docs/CONFIGURATION.md';
const APP_SECTIONS = ['Both apps', 'API', 'Worker'];
const OUTSIDE_SECTION = 'Outside the apps: `npm start`, the embedded database, scripts and tests';
/** Read from the environment but not settings: the shell's paths, and a marker the test setup sets for itself. */
const NOT_SETTINGS = new Set(['PATH', 'PYTHONPATH', 'TEST_EMBEDDED_MONGO']);

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

/** The value a schema entry takes when the variable is unset, as text (undefined: no default of its own). */
function schemaDefault(name: string): string | undefined {
  const entry = configSchema.shape[name as keyof typeof configSchema.shape];
  const parsed = entry.safeParse(undefined);
  const value: unknown = parsed.success ? parsed.data : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`${name}: a default of type ${typeof value} needs its own rendering here`);
  }
  return String(value);
}

/** Source files that configure or launch something (tests and bench knobs excluded). */
function sourceFiles(): string[] {
  return [
    ...filesUnder('apps', ['.ts']),
    ...filesUnder('packages', ['.ts']),
    ...filesUnder('scripts', ['.ts']),
    ...filesUnder('tests/support', ['.ts']),
  ].filter((file) => !file.split(path.sep).includes('test') && !file.endsWith('.test.ts'));
}

describe(DOC, () => {
  const documented = documentedVariables();
  const schemaNames = Object.keys(configSchema.shape).sort();

  it('has each variable in exactly one row', () => {
    const names = documented.map((variable) => variable.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(
      documented.filter((variable) => ![...APP_SECTIONS, OUTSIDE_SECTION].includes(variable.section)),
    ).toEqual([]);
  });

  it("lists in the apps' sections exactly the variables of the config schema", () => {
    const inAppSections = documented
      .filter((variable) => APP_SECTIONS.includes(variable.section))
      .map((variable) => variable.name)
      .sort();
    expect(inAppSections).toEqual(schemaNames);
  });

  it('gives each variable the default its schema applies when it is unset', () => {
    const wrong = documented
      .filter((variable) => APP_SECTIONS.includes(variable.section))
      .flatMap((variable) => {
        const value = schemaDefault(variable.name);
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
