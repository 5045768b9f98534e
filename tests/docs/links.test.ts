/** Every relative link in the README and docs/ points at a file that exists (and a heading in it). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { filesUnder, ROOT } from './markdown';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsIn(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of withoutCode(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const anchor = anchorOf(match[1]!);
    const count = seen.get(anchor) ?? 0;
    // GitHub numbers repeated headings: name, name-1, name-2, ...
    anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
    seen.set(anchor, count + 1);
  }
  return anchors;
}

/** Fenced code blocks hold examples, not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

const markdownFiles = [
  'README.md',
  ...filesUnder('docs', ['.md']),
  ...filesUnder('apps', ['README.md']),
  ...filesUnder('packages', ['README.md']),
].filter((file) => existsSync(path.join(ROOT, file)));

describe('documentation links', () => {
  it('reads the README and the docs', () => {
    expect(markdownFiles).toEqual(
      expect.arrayContaining(['README.md', path.join('docs', 'CONFIGURATION.md')]),
    );
  });

  it.each(markdownFiles)('%s: every relative link resolves', (file) => {
    const source = path.join(ROOT, file);
    const broken: string[] = [];
    for (const match of withoutCode(readFileSync(source, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto: ...
      const [relative = '', anchor] = target.split('#');
      const resolved = relative === '' ? source : path.resolve(path.dirname(source), relative);
      if (!existsSync(resolved)) broken.push(`${target}: no such file`);
      else if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!anchorsIn(resolved).has(anchor)) broken.push(`${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/** BENCHMARKS.md is written by `pnpm bench` and records runs as they were, paths of the time included. */
const CURRENT_DOCS = markdownFiles.filter((file) => file !== path.join('docs', 'BENCHMARKS.md'));

describe('paths named in the documentation', () => {
  it.each(CURRENT_DOCS)('%s: every repository path in backticks exists', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const missing: string[] = [];
    for (const match of text.matchAll(
      /`((?:apps|packages|tests|scripts|bench|k8s|monitoring|docs)\/[^`\s]*)`/g,
    )) {
      // `packages/x/test/*` names a folder's files; `a.ts:12` a line in a file.
      const named = match[1]!.replace(/\/\*[^/]*$/, '').replace(/:\d+$/, '');
      // From the repository's root, or (in a package's README) from the file's own folder.
      const candidates = [path.join(ROOT, named), path.join(ROOT, path.dirname(file), named)];
      if (!candidates.some((candidate) => existsSync(candidate))) missing.push(match[1]!);
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});

describe('file names in the documentation', () => {
  const sourceNames = new Set(
    ['apps', 'packages', 'scripts', 'tests', 'bench'].flatMap((dir) =>
      filesUnder(dir, ['.ts', '.sh', '.mjs', '.java']).map((file) => path.basename(file)),
    ),
  );

  it.each(CURRENT_DOCS)('%s: every source file named without its folder exists somewhere', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const missing = [...text.matchAll(/`([A-Za-z0-9_.-]+\.(?:ts|sh|mjs|java))(?::\d+)?`/g)]
      .map((match) => match[1]!)
      .filter((name) => !sourceNames.has(name));
    expect([...new Set(missing)]).toEqual([]);
  });
});
