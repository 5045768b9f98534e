/**
 * One Jest run for the whole workspace. Every test that touches MongoDB talks to a real server
 * process through the official driver: MONGODB_URL when set, else the embedded mongo-java-server
 * that the global setup starts.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/packages', '<rootDir>/tests'],
  testMatch: ['**/test/**/*.test.ts', '**/tests/**/*.test.ts'],
  // The fault-injection suite has a command of its own: `pnpm test:faults`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/tests/faults/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: { '^@txhook/(shared|embedded-mongo)$': '<rootDir>/packages/$1/src/index.ts' },
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  testTimeout: 30_000,
  // Processes started by a test must be gone when it ends; report what is left instead of hanging.
  openHandlesTimeout: 5_000,
};
