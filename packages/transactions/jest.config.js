/** `pnpm --filter @txhook/transactions test`; the root `npm test` runs these tests with all the others. */
module.exports = require('@txhook/test-kit/jest-project').jestProject(__dirname);
