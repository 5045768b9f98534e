/**
 * The system tests: real processes end to end (e2e/) and the deploy manifests (deploy/). The
 * fault-injection suite (faults/) has a command of its own: `npm run test:faults`.
 */
module.exports = require('@txhook/test-kit/jest-project').jestProject(__dirname, {
  displayName: 'system tests',
  testMatch: ['<rootDir>/e2e/**/*.test.ts', '<rootDir>/deploy/**/*.test.ts'],
});
