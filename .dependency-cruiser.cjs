/**
 * Import boundaries (`npm run lint` runs `depcruise`): apps may import packages, packages never
 * import apps, an app never imports another app, product code never imports tests, benchmarks or
 * scripts, and no module imports itself back through others. Tests, bench and scripts may import
 * anything (but still no cycles). See docs/DEVELOPMENT.md.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'package-imports-app',
      comment: 'Packages are shared by the apps: an app is never one of their dependencies.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'app-imports-other-app',
      comment: 'The API and the worker share code through packages only.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'product-imports-tooling',
      comment: 'Product code (src/) never depends on tests, benchmarks or scripts.',
      severity: 'error',
      from: { path: '^(apps|packages)/[^/]+/src/' },
      to: { path: '^(tests|bench|scripts)/|^(apps|packages)/[^/]+/test/' },
    },
    {
      name: 'no-circular',
      comment: 'A module that imports itself back through others: split or move the shared part.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
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
