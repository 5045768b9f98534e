/** Just enough Markdown reading for the documentation tests: sections, table rows, links. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export function readDoc(relativePath: string): string {
  return readFileSync(path.join(ROOT, relativePath), 'utf8');
}

/** The text under each `## ` heading, by heading. */
export function sections(markdown: string): Map<string, string> {
  const result = new Map<string, string>();
  let heading = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) heading = line.slice(3).trim();
    else result.set(heading, `${result.get(heading) ?? ''}${line}\n`);
  }
  return result;
}

/** Body rows of the Markdown tables in `text` (header and separator rows left out), as cells. */
export function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  let previousWasTable = false;
  for (const line of text.split('\n')) {
    const isTable = line.trimStart().startsWith('|');
    // The first row of a table is its header; the second (---) separates it from the body.
    if (isTable && previousWasTable && !/^\s*\|[\s|:-]+\|\s*$/.test(line)) {
      rows.push(
        line
          .trim()
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim()),
      );
    }
    previousWasTable = isTable;
  }
  return rows;
}

/** Files under `dir` (relative to the root) whose names end with one of `extensions`. */
export function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const absolute = path.join(ROOT, dir);
  let entries;
  try {
    entries = readdirSync(absolute, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && extensions.some((extension) => entry.name.endsWith(extension)))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.split(path.sep).some((part) => part === 'node_modules' || part === 'dist'));
}
