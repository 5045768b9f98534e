/**
 * `npm test`: one Jest run over the tests of every package that has a jest.config.js, and the
 * system tests in tests/. One run, so one embedded server and one report; `pnpm --filter
 * <package> test` (or `jest --selectProjects <package>`) runs one package's tests.
 * @type {import('jest').Config}
 */
const { existsSync, readdirSync } = require('node:fs');
const path = require('node:path');
const { RUN_SETTINGS } = require('@txhook/test-kit/jest-project');

const packages = ['apps', 'packages'].flatMap((group) =>
  readdirSync(path.join(__dirname, group))
    .map((name) => path.join(__dirname, group, name))
    .filter((dir) => existsSync(path.join(dir, 'jest.config.js'))),
);

module.exports = { ...RUN_SETTINGS, projects: [...packages, path.join(__dirname, 'tests')] };
