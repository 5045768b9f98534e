/**
 * Import boundaries (`npm run lint` runs `depcruise`): apps may import packages, packages never
 * import apps, @txhook/platform never imports @txhook/transactions, an app never imports another
 * app, product code never imports tests, benchmarks or scripts, and no module imports itself back
 * through others. Tests, bench and scripts may import
 * anything (but still no cycles). See docs/DEVELOPMENT.md.
 * @type {import('dependency-cruiser').IConfiguration}
 */
/** A rule `npm run lint` fails on: no import from `from` to `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    forbid(
      'package-imports-app',
      'Packages are shared by the apps: an app is never one of their dependencies.',
      { path: '^packages/' },
      { path: '^apps/' },
    ),
    forbid(
      'platform-imports-transactions',
      'The transaction domain builds on the platform (config, logger, Mongo), never the reverse.',
      { path: '^packages/platform/' },
      { path: '^packages/transactions/' },
    ),
    forbid(
      'app-imports-other-app',
      'The API and the worker share code through packages only.',
      { path: '^apps/([^/]+)/' },
      { path: '^apps/', pathNot: '^apps/$1/' },
    ),
    forbid(
      'product-imports-tooling',
      'Product code (src/) never depends on tests, benchmarks or scripts.',
      { path: '^(apps|packages)/[^/]+/src/' },
      { path: '^(tests|bench|scripts)/|^(apps|packages)/[^/]+/test/' },
    ),
    forbid(
      'no-circular',
      'A module that imports itself back through others: split or move the shared part.',
      {},
      { circular: true },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|\\.cache|java)/' },
    // Type-only imports count: a cycle through types still ties the modules together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    // Workspace packages resolve as `--conditions=development` does (scripts/ts.sh): to their src/.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['development', 'types', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
    },
  },
};
