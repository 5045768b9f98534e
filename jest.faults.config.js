/**
 * `npm run test:faults`: the fault-injection suite (tests/faults). Real processes on 127.0.0.1,
 * killed, stopped and restarted on purpose; every test is bounded in time and stops by itself.
 * @type {import('jest').Config}
 */
module.exports = require('@txhook/test-kit/jest-project').jestProject(`${__dirname}/tests`, {
  displayName: 'fault injection',
  testMatch: ['<rootDir>/faults/**/*.test.ts'],
  testTimeout: 240_000,
});
