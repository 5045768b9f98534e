/* global process */
// Validates Kubernetes objects (a JSON array on stdin) against their schemas with the
// kubernetes-models packages, which are ES modules only: Jest runs this as a child process.
// Prints a JSON array: one { kind, name, error } per object (error null when valid).
const modules = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};

let input = '';
for await (const chunk of process.stdin) input += chunk;

const results = [];
for (const object of JSON.parse(input)) {
  const name = object.metadata?.name ?? '?';
  const path = modules[object.apiVersion];
  const Model = path ? (await import(path))[object.kind] : undefined;
  if (typeof Model !== 'function') {
    results.push({ kind: object.kind, name, error: `no schema for ${object.apiVersion} ${object.kind}` });
    continue;
  }
  try {
    new Model(object).validate();
    results.push({ kind: object.kind, name, error: null });
  } catch (error) {
    results.push({ kind: object.kind, name, error: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
