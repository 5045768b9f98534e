import {
  apiConfigSchema,
  loadApiConfig,
  shutdownDeadlineMs as apiShutdownDeadlineMs,
} from '../../apps/api/src/config';
import {
  loadWorkerConfig,
  shutdownDeadlineMs as workerShutdownDeadlineMs,
  workerConfigSchema,
} from '../../apps/worker/src/config';

/** Which app a container or service runs. */
export type App = 'api' | 'worker';

interface Setting {
  parse(value: unknown): unknown;
  safeParse(value: unknown): { success: boolean };
}

interface AppConfiguration {
  /** The variables the app reads (its own config schema), each with its parser. */
  settings: Record<string, Setting>;
  /** How long its graceful stop may take with this environment (its config's shutdownDeadlineMs). */
  shutdownDeadlineMs(env: Record<string, string>): number;
}

/** Each app's configuration, as its main.ts loads it. */
export const APP_CONFIGS: Record<App, AppConfiguration> = {
  api: {
    settings: apiConfigSchema.shape,
    shutdownDeadlineMs: (env) => apiShutdownDeadlineMs(loadApiConfig(env)),
  },
  worker: {
    settings: workerConfigSchema.shape,
    shutdownDeadlineMs: (env) => workerShutdownDeadlineMs(loadWorkerConfig(env)),
  },
};

/** What the app sees for a variable: its literal value parsed by the app's schema, else its default. */
export function effectiveSetting(app: App, name: string, value: unknown): unknown {
  const setting = APP_CONFIGS[app].settings[name];
  if (!setting) throw new Error(`the ${app} has no setting ${name}`);
  return setting.parse(value);
}
