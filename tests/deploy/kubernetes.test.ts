/**
 * The Kubernetes manifests (k8s/), checked offline: every overlay renders with kustomize, every
 * object is valid against its schema, and the settings agree with the code they deploy — grace
 * periods against SHUTDOWN_GRACE_MS and the call length, probes against the apps' real routes and
 * ports, env vars against the config schema, the KEDA filter against the indexes the service creates.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment' with { 'resolution-mode': 'import' };
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' with {
  'resolution-mode': 'import',
};
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy' with {
  'resolution-mode': 'import',
};
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget' with {
  'resolution-mode': 'import',
};
import type { IContainer } from 'kubernetes-models/v1/Container' with { 'resolution-mode': 'import' };
import type { IService } from 'kubernetes-models/v1/Service' with { 'resolution-mode': 'import' };
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject' with {
  'resolution-mode': 'import',
};
import type { ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication' with {
  'resolution-mode': 'import',
};
import {
  TRANSACTION_INDEXES,
  TRANSACTIONS_COLLECTION,
  TransactionStore,
  TransactionStatus,
} from '@txhook/transactions';
import { serve, type Served } from '../../apps/api/test/serve';
import { startMetricsServer } from '../../apps/worker/src/metrics-server';
import { testDatabaseUrl } from '@txhook/test-kit';
import { APP_CONFIGS, effectiveSetting, type App } from './app-configs';
import { CALL_MARGIN_MS, deployedCommand } from './app-facts';
import { render, validateAgainstSchemas, type K8sObject } from './kustomize';

const root = join(__dirname, '..', '..');
const overlays = readdirSync(join(root, 'k8s', 'overlays')).map((name) => `k8s/overlays/${name}`);
/** The port each app listens on, by the config variable it reads. */
const portVariable: Record<App, string> = { api: 'PORT', worker: 'WORKER_METRICS_PORT' };

interface AppDeployment {
  deployment: IDeployment;
  container: IContainer;
  app: App;
  podLabels: Record<string, string>;
  terminationMs: number;
}

/** Which app a container runs, from its command (the image holds both; see the Dockerfile). */
function appOf(container: IContainer): App {
  const entry = container.command?.find((part) => /^apps\/\w+\/dist\/main\.js$/.test(part));
  const app = entry?.split('/')[1];
  if (app !== 'api' && app !== 'worker') throw new Error(`container ${container.name}: runs no known app`);
  // The entry point is what `pnpm build` makes of the app's main.ts (rootDir src, outDir dist).
  expect(existsSync(join(root, entry!.replace('/dist/', '/src/').replace(/\.js$/, '.ts')))).toBe(true);
  return app;
}

function ofKind<T>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as unknown as T[];
}

function only<T>(objects: K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found).toHaveLength(1);
  return found[0] as unknown as T;
}

function appDeployments(objects: K8sObject[]): AppDeployment[] {
  return ofKind<IDeployment>(objects, 'Deployment').flatMap((deployment) => {
    const pod = deployment.spec!.template;
    return pod.spec!.containers.map((container) => ({
      deployment,
      container,
      app: appOf(container),
      podLabels: pod.metadata?.labels ?? {},
      terminationMs: (pod.spec!.terminationGracePeriodSeconds ?? 30) * 1_000,
    }));
  });
}

function byApp(objects: K8sObject[], app: App): AppDeployment[] {
  const found = appDeployments(objects).filter((d) => d.app === app);
  expect(found.length).toBeGreaterThan(0);
  return found;
}

/** The container's literal env (Secret references left out). */
function literalEnv(container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? [])
    if (variable.value !== undefined) env[variable.name] = variable.value;
  return env;
}

/** What the app sees for a variable: the manifest's literal value parsed by its schema, else its default. */
function effective(container: IContainer, name: string): unknown {
  const entry = container.env?.find((variable) => variable.name === name);
  return effectiveSetting(appOf(container), name, entry?.value);
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

function probesOf(container: IContainer) {
  return [container.startupProbe, container.livenessProbe, container.readinessProbe].filter(
    (probe) => probe !== undefined,
  );
}

test('there is at least one overlay to check', () => {
  expect(overlays.length).toBeGreaterThan(0);
});

describe.each(overlays)('%s', (overlay) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render(overlay);
  });

  test('renders the API and worker Deployments, Service, HPA, PDBs, ScaledObject and NetworkPolicies', () => {
    const kinds = new Set(objects.map((object) => object.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'ScaledObject',
      'TriggerAuthentication',
      'NetworkPolicy',
    ]) {
      expect(kinds).toContain(kind);
    }
    expect(new Set(appDeployments(objects).map(({ app }) => app))).toEqual(new Set(['api', 'worker']));
  });

  test('every object is valid against its Kubernetes or KEDA schema', () => {
    const results = validateAgainstSchemas(objects);
    expect(results).toHaveLength(objects.length);
    expect(results.filter((result) => result.error !== null)).toEqual([]);
  });

  test('no Secret is defined in the manifests; secrets are referenced by key', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const { container } of appDeployments(objects)) {
      for (const variable of container.env ?? []) {
        if (/SECRET|URL|KEY|TOKEN|PASSWORD/.test(variable.name)) {
          expect({ name: variable.name, value: variable.value }).toEqual({
            name: variable.name,
            value: undefined,
          });
          expect(variable.valueFrom?.secretKeyRef).toEqual({
            name: expect.any(String),
            key: expect.any(String),
          });
        }
      }
    }
  });

  test('each container runs its app with the node flags every launch of that app carries', () => {
    for (const { container, app } of appDeployments(objects)) {
      expect(container.command).toEqual(deployedCommand(app));
    }
  });

  test("every env var the manifests set is one the app's config schema knows, with a value it accepts", () => {
    for (const { container, app } of appDeployments(objects)) {
      const { settings } = APP_CONFIGS[app];
      for (const variable of container.env ?? []) {
        const known = Object.hasOwn(settings, variable.name);
        expect({ container: container.name, name: variable.name, known }).toEqual({
          container: container.name,
          name: variable.name,
          known: true,
        });
        if (variable.value !== undefined) {
          const ok = settings[variable.name]!.safeParse(variable.value).success;
          expect({ name: variable.name, ok }).toEqual({ name: variable.name, ok: true });
        }
      }
    }
  });

  test('worker: SHUTDOWN_GRACE_MS covers a whole call plus margin, and Kubernetes waits longer than the worker', () => {
    for (const { container, app, terminationMs } of byApp(objects, 'worker')) {
      const grace = effective(container, 'SHUTDOWN_GRACE_MS') as number;
      expect(grace).toBeGreaterThanOrEqual(
        (effective(container, 'PROCESSING_DELAY_MS') as number) + CALL_MARGIN_MS,
      );
      // A bound on the external call (when the config has one) must end within the grace too.
      if (Object.hasOwn(APP_CONFIGS.worker.settings, 'EXTERNAL_CALL_TIMEOUT_MS')) {
        expect(grace).toBeGreaterThanOrEqual(effective(container, 'EXTERNAL_CALL_TIMEOUT_MS') as number);
      }
      expect(terminationMs).toBeGreaterThan(APP_CONFIGS[app].shutdownDeadlineMs(literalEnv(container)));
    }
  });

  test('api: Kubernetes waits for preStop, the drain and the API’s own hard stop', () => {
    for (const { container, app, terminationMs } of byApp(objects, 'api')) {
      const preStopMs = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1_000;
      expect(terminationMs).toBeGreaterThan(
        preStopMs + APP_CONFIGS[app].shutdownDeadlineMs(literalEnv(container)),
      );
    }
  });

  test('probes target a declared container port that is the port the app listens on', () => {
    for (const { container, app } of appDeployments(objects)) {
      expect(container.livenessProbe?.httpGet).toBeDefined();
      expect(container.readinessProbe?.httpGet).toBeDefined();
      for (const probe of probesOf(container)) {
        const port = probe.httpGet!.port;
        const declared = container.ports?.find((p) =>
          typeof port === 'number' ? p.containerPort === port : p.name === port,
        );
        expect(declared?.containerPort).toBe(effective(container, portVariable[app]));
      }
    }
  });

  test('pods run non-root on a read-only root filesystem, without capabilities, with requests and limits', () => {
    for (const { deployment, container } of appDeployments(objects)) {
      const pod = deployment.spec!.template.spec!;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      for (const bound of [container.resources?.requests, container.resources?.limits]) {
        expect(bound).toEqual(
          expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
        );
      }
    }
  });

  test('the Service, HPA and PDBs point at the pods they are meant for', () => {
    const [api] = byApp(objects, 'api');
    const service = only<IService>(objects, 'Service');
    expect(matches(service.spec!.selector, api!.podLabels)).toBe(true);
    for (const port of service.spec!.ports ?? []) {
      const target = port.targetPort;
      expect(api!.container.ports?.some((p) => p.name === target || p.containerPort === target)).toBe(true);
    }
    const hpa = only<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec?.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: api!.deployment.metadata!.name,
    });
    for (const app of ['api', 'worker'] as const) {
      const labels = byApp(objects, app)[0]!.podLabels;
      const pdbs = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').filter((pdb) =>
        matches(pdb.spec!.selector!.matchLabels, labels),
      );
      expect(pdbs).toHaveLength(1);
    }
  });

  test('KEDA counts PROCESSING records on an index the service creates, sized from WORKER_CONCURRENCY', () => {
    const [worker] = byApp(objects, 'worker');
    const scaledObject = only<IScaledObject>(objects, 'ScaledObject');
    expect(scaledObject.spec.scaleTargetRef.name).toBe(worker!.deployment.metadata!.name);
    expect(scaledObject.spec.triggers.map((trigger) => trigger.type)).toEqual(['mongodb']);
    const { metadata, authenticationRef } = scaledObject.spec.triggers[0]!;

    expect(metadata.dbName).toBe(effective(worker!.container, 'MONGODB_DB'));
    expect(metadata.collection).toBe(TRANSACTIONS_COLLECTION);
    const filter = JSON.parse(metadata.query!) as Record<string, unknown>;
    expect(filter).toEqual({ status: TransactionStatus.PROCESSING });
    // An equality filter on fields F is served by an index whose key starts with exactly F.
    const fields = Object.keys(filter);
    const serving = TRANSACTION_INDEXES.filter((index) => {
      const prefix = Object.keys(index.key).slice(0, fields.length);
      return prefix.length === fields.length && prefix.every((field) => fields.includes(field));
    });
    expect(serving.length).toBeGreaterThan(0);

    // One pod per queryValue records: it must hold them all in flight, with some headroom.
    const concurrency = effective(worker!.container, 'WORKER_CONCURRENCY') as number;
    const queryValue = Number(metadata.queryValue);
    expect(queryValue).toBeLessThanOrEqual(concurrency);
    expect(queryValue).toBeGreaterThanOrEqual(concurrency / 2);
    expect(Number.isInteger(Number(metadata.activationQueryValue))).toBe(true);

    // The count runs with the worker's own connection string, from the same Secret key.
    const auth = only<ITriggerAuthentication>(objects, 'TriggerAuthentication', authenticationRef?.name);
    const url = worker!.container.env?.find((variable) => variable.name === 'MONGODB_URL')?.valueFrom
      ?.secretKeyRef;
    expect(url).toBeDefined();
    expect(auth.spec.secretTargetRef).toContainEqual({ parameter: 'connectionString', ...url });
  });

  test('NetworkPolicy: the worker admits only its metrics port, and only from a named source', () => {
    const [worker] = byApp(objects, 'worker');
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((policy) =>
      matches(policy.spec?.podSelector?.matchLabels, worker!.podLabels),
    );
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      expect(policy.spec!.policyTypes).toContain('Ingress');
      for (const rule of policy.spec!.ingress ?? []) {
        expect(rule.from?.length).toBeGreaterThan(0);
        expect(rule.ports?.map((p) => p.port)).toEqual(['metrics']);
      }
    }
  });
});

/**
 * Every component has to apply to the base on its own and stay valid; an overlay that lists one
 * (production lists operator-access) has its variables checked by the overlay tests above.
 */
describe.each(readdirSync(join(root, 'k8s', 'components')))(
  'component %s on top of the base',
  (component) => {
    let base: K8sObject[];
    let withComponent: K8sObject[];
    beforeAll(() => {
      // Kustomize resolves only relative paths; .cache/ is git-ignored.
      const dir = join('.cache', 'k8s-components', component);
      mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(
        join(root, dir, 'kustomization.yaml'),
        `resources: [../../../k8s/base]\ncomponents: [../../../k8s/components/${component}]\n`,
      );
      base = render('k8s/base');
      withComponent = render(dir);
    });

    test('changes the rendered objects, and every object stays valid against its schema', () => {
      expect(withComponent).not.toEqual(base);
      expect(validateAgainstSchemas(withComponent).filter((result) => result.error !== null)).toEqual([]);
    });

    test('every variable it adds comes from a Secret by key', () => {
      const before = new Set(
        appDeployments(base).flatMap(({ container }) => (container.env ?? []).map((v) => v.name)),
      );
      const added = appDeployments(withComponent).flatMap(({ container }) =>
        (container.env ?? []).filter((variable) => !before.has(variable.name)),
      );
      for (const variable of added) {
        expect({ name: variable.name, value: variable.value }).toEqual({
          name: variable.name,
          value: undefined,
        });
        expect(variable.valueFrom?.secretKeyRef).toEqual({
          name: expect.any(String),
          key: expect.any(String),
        });
      }
    });
  },
);

describe('the probe paths the manifests use are served by the apps', () => {
  const probePaths = (app: App): string[] => {
    const paths = new Set<string>();
    for (const overlay of overlays) {
      for (const { container } of byApp(render(overlay), app)) {
        for (const probe of probesOf(container)) if (probe.httpGet) paths.add(probe.httpGet.path!);
      }
    }
    return [...paths];
  };
  const dbName = `k8s_probes_${process.pid}`;

  let client: MongoClient;
  let api: Served;
  let metrics: { server: Server; port: number };
  beforeAll(async () => {
    client = await MongoClient.connect(testDatabaseUrl());
    const repository = new TransactionStore(client.db(dbName));
    await repository.ensureIndexes();
    api = await serve(client, repository);
    metrics = await startMetricsServer(new Registry(), 0, '127.0.0.1');
  });
  afterAll(async () => {
    await api?.close();
    metrics?.server.close();
    await client?.db(dbName).dropDatabase();
    await client?.close();
  });

  test('API: each probe path answers 200 on the real app with its database', async () => {
    const paths = probePaths('api');
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const response = await fetch(`${api.baseUrl}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });

  test('worker: each probe path answers 200 on the real metrics server', async () => {
    const paths = probePaths('worker');
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const response = await fetch(`http://127.0.0.1:${metrics.port}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });
});
