export * from './config';
export * from './currencies';
export * from './logger';
export * from './money';
export * from './mongo';
export * from './repository';
export * from './schemas';
export * from './transaction';
