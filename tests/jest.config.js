/**
 * The system tests: real processes end to end (e2e/), the deploy manifests (deploy/) and the
 * repository's own tooling (tooling/: bootstrap flags, import boundaries) and the documentation
 * (docs/: README and docs/ held to the code). The
 * fault-injection suite (faults/) has a command of its own: `npm run test:faults`.
 */
module.exports = require('@txhook/test-kit/jest-project').jestProject(__dirname, {
  displayName: 'system tests',
  testMatch: ['<rootDir>/{e2e,deploy,tooling,docs}/**/*.test.ts'],
});
