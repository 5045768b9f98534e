/**
 * `pnpm keygen --name grafana --role read`: makes a new random operator token and prints it once,
 * with the OPERATOR_KEYS entry that holds only its SHA-256. Hand the token to the operator (or
 * tool); put the entry in OPERATOR_KEYS (comma-separated). `--metrics` prints a METRICS_TOKEN.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function main(): void {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      role: { type: 'string', default: 'read' },
      metrics: { type: 'boolean', default: false },
    },
  });
  // 256 random bits, URL-safe so it fits a bearer header as is; the prefix makes leaks greppable.
  const token = `txk_${randomBytes(32).toString('base64url')}`;
  if (values.metrics) {
    console.log(`METRICS_TOKEN=${token}`);
    return;
  }
  if (!values.name || !NAME.test(values.name)) throw new Error('--name is required (A-Z a-z 0-9 _ . -)');
  if (values.role !== 'read' && values.role !== 'operate') throw new Error('--role must be read or operate');
  const digest = createHash('sha256').update(token, 'utf8').digest('hex');
  console.log(`token (give to ${values.name}, shown once): ${token}`);
  console.log(`OPERATOR_KEYS entry: ${values.name}:${values.role}:${digest}`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
