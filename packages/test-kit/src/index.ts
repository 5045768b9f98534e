/** @txhook/test-kit: what the tests of every package and the benchmarks share. */
export * from './autoscaler';
export * from './database';
export * from './e2e';
export * from './faults';
export * from './figures';
export * from './launcher';
export * from './metrics';
export * from './ports';
export * from './waiting';
export * from './webhooks';
