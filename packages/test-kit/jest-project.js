/**
 * The Jest settings every package's tests share. A package's jest.config.js is
 * `jestProject(__dirname)`; `pnpm --filter <package> test` runs it alone, and the root
 * jest.config.js runs all of them as projects of one Jest run. Every project names the same
 * global setup, which Jest runs once per distinct path: one embedded server for the whole run.
 * Every test that touches MongoDB talks to a real server process through the official driver:
 * MONGODB_URL when set, else the embedded mongo-java-server that the global setup starts.
 */
const { readFileSync } = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Settings Jest reads from the run's (global) config only, not from a project's: in a package's
 * own config when it runs alone, and in the root config when all run together.
 */
const RUN_SETTINGS = {
  testTimeout: 30_000,
  // Processes started by a test must be gone when it ends; report what is left instead of hanging.
  openHandlesTimeout: 5_000,
};

/**
 * @param {string} rootDir the package (or folder) whose tests these are
 * @param {import('jest').Config} overrides e.g. testMatch for a folder that is not a package
 * @returns {import('jest').Config}
 */
function jestProject(rootDir, overrides = {}) {
  return {
    displayName: packageName(rootDir),
    rootDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(REPO_ROOT, 'tsconfig.test.json') }] },
    // Workspace packages from source, as `--conditions=development` resolves them (scripts/ts.sh).
    moduleNameMapper: {
      '^@txhook/([a-z-]+)$': path.join(REPO_ROOT, 'packages/$1/src/index.ts'),
      '^@txhook/([a-z-]+)/([a-z-]+)$': path.join(REPO_ROOT, 'packages/$1/src/$2.ts'),
    },
    globalSetup: path.join(__dirname, 'src/global-setup.ts'),
    globalTeardown: path.join(__dirname, 'src/global-teardown.ts'),
    ...RUN_SETTINGS,
    ...overrides,
  };
}

/** The package's name (`@txhook/api`), which `jest --selectProjects` takes; else the folder. */
function packageName(dir) {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name;
  } catch {
    return path.relative(REPO_ROOT, dir);
  }
}

module.exports = { jestProject, RUN_SETTINGS, REPO_ROOT };
