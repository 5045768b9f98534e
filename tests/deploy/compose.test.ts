/**
 * docker-compose.yml, read as Compose reads it (with the ${VAR:-default} defaults): MongoDB runs as
 * a replica set the service connects to by name, and no container is killed before its own
 * graceful stop is over. No Docker engine is needed; `docker compose config` is a doc step.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { APP_CONFIGS, effectiveSetting, type App } from './app-configs';
import { CALL_MARGIN_MS, deployedCommand } from './app-facts';

interface ComposeService {
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test?: string[] | string };
  stop_grace_period?: string;
}

const root = join(__dirname, '..', '..');

/** ${VAR:-default} and ${VAR} as Compose resolves them with nothing set in the shell. */
function withDefaults(text: string): string {
  return text.replace(
    /\$\{(\w+)(?::?-([^}]*))?\}/g,
    (_match, _name: string, fallback?: string) => fallback ?? '',
  );
}

function loadCompose(): Record<string, ComposeService> {
  const file = parse(withDefaults(readFileSync(join(root, 'docker-compose.yml'), 'utf8')), {
    merge: true,
  }) as {
    services: Record<string, ComposeService>;
  };
  return file.services;
}

/** Compose durations as used here: "90s", "1m30s", "500ms". */
function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`bad duration ${text}`);
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit!]!, 0);
}

function effective(app: App, service: ComposeService, name: string): number {
  const raw = service.environment?.[name];
  return effectiveSetting(app, name, raw === '' || raw === null ? undefined : raw) as number;
}

const asText = (value: string[] | string | undefined): string =>
  Array.isArray(value) ? value.join(' ') : (value ?? '');

describe('docker-compose.yml', () => {
  const services = loadCompose();

  test('MongoDB runs as a replica set, initiated by its healthcheck, and the apps name it in their URL', () => {
    const mongo = services.mongo!;
    const replSet = /--replSet[= ](\S+)/.exec(asText(mongo.command))?.[1];
    expect(replSet).toBeDefined();
    // Healthy only once a primary is writable; initiates the set first when it is not yet.
    const health = asText(mongo.healthcheck?.test);
    expect(health).toContain('rs.initiate');
    expect(health).toContain(`_id: '${replSet}'`);
    expect(health).toMatch(/isWritablePrimary/);
    for (const app of ['api', 'worker']) {
      const url = new URL(String(services[app]!.environment?.MONGODB_URL));
      expect(url.searchParams.get('replicaSet')).toBe(replSet);
    }
  });

  test.each(['api', 'worker'] as const)(
    '%s: stop_grace_period outlasts the whole graceful stop (shutdownDeadlineMs of its configuration)',
    (name) => {
      const service = services[name]!;
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).filter(([, value]) => typeof value === 'string'),
      ) as Record<string, string>;
      expect(durationMs(service.stop_grace_period ?? '10s')).toBeGreaterThan(
        APP_CONFIGS[name].shutdownDeadlineMs(env),
      );
    },
  );

  test.each(['api', 'worker'] as const)(
    "%s: every variable the service sets is one its app's config schema reads, with a value it accepts",
    (name) => {
      const { settings } = APP_CONFIGS[name];
      for (const [variable, raw] of Object.entries(services[name]!.environment ?? {})) {
        const value = raw === '' || raw === null ? undefined : String(raw);
        const known = Object.hasOwn(settings, variable);
        const ok = known && settings[variable]!.safeParse(value).success;
        expect({ variable, known, ok }).toEqual({ variable, known: true, ok: true });
      }
    },
  );

  test('the api and the worker run with the node flags every launch of them carries', () => {
    for (const app of ['api', 'worker'] as const) {
      expect(services[app]!.command).toEqual(deployedCommand(app));
    }
  });

  test('the worker lets a whole external call finish on stop', () => {
    const worker = services.worker!;
    expect(effective('worker', worker, 'SHUTDOWN_GRACE_MS')).toBeGreaterThanOrEqual(
      effective('worker', worker, 'PROCESSING_DELAY_MS') + CALL_MARGIN_MS,
    );
  });
});
