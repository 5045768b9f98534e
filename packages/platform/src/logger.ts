import winston from 'winston';
import type { LoggingSettings } from './config';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /**
   * Fields of the current unit of work (e.g. the request id from an AsyncLocalStorage), added to
   * every line logged while it runs, so call sites need not pass them along.
   */
  context?: () => object | undefined;
}

/** JSON lines in production (machine-readable), colourised single lines in development. */
export function createLogger(service: string, config: LoggingSettings, options: LoggerOptions = {}): Logger {
  const format = config.LOG_FORMAT ?? (config.NODE_ENV === 'production' ? 'json' : 'pretty');
  const { context } = options;
  const addContext = winston.format((info) => {
    // Fields given at the call site win over the context's.
    for (const [key, value] of Object.entries(context?.() ?? {})) if (!(key in info)) info[key] = value;
    return info;
  });
  return winston.createLogger({
    level: config.LOG_LEVEL,
    defaultMeta: { service },
    format:
      format === 'json'
        ? winston.format.combine(addContext(), winston.format.timestamp(), winston.format.json())
        : winston.format.combine(
            addContext(),
            winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
            winston.format.colorize(),
            winston.format.printf(({ timestamp, level, message, service: name, ...meta }) => {
              const rest = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : '';
              return `${String(timestamp)} ${String(name)} ${level}: ${String(message)}${rest}`;
            }),
          ),
    transports: [new winston.transports.Console()],
  });
}
