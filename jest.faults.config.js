/**
 * `pnpm test:faults`: the fault-injection suite (tests/faults). Real processes on 127.0.0.1,
 * killed, stopped and restarted on purpose; every test is bounded in time and stops by itself.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/tests/faults'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 240_000,
};
