import winston from 'winston';
import type { LoggingSettings } from './config';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /**
   * Fields of the current unit of work (e.g. the request id from an AsyncLocalStorage), added to
   * every line logged while it runs, so call sites need not pass them along.
   */
  context?: () => object | undefined;
  /** Where the lines go; standard output when omitted. */
  stream?: NodeJS.WritableStream;
}

/** JSON lines in production (machine-readable), colourised single lines in development. */
export function createLogger(service: string, config: LoggingSettings, options: LoggerOptions = {}): Logger {
  const format = config.LOG_FORMAT ?? (config.NODE_ENV === 'production' ? 'json' : 'pretty');
  const { context, stream } = options;
  const addContext = winston.format((info) => {
    // Fields given at the call site win over the context's.
    for (const [key, value] of Object.entries(context?.() ?? {})) if (!(key in info)) info[key] = value;
    return info;
  });
  const logger = winston.createLogger({
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
    transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
  });
  return withDisabledLevelsSkipped(logger);
}

type LevelMethod = (this: winston.Logger, ...args: unknown[]) => winston.Logger;

/**
 * winston formats every line (context, timestamp, JSON) and only then lets the transport drop it
 * by level, so a disabled line (the worker's per-record debug lines at LOG_LEVEL=info) costs as
 * much as a written one. Each level's method asks first whether anything would write it; the
 * answer follows the logger's level, also when it is changed later.
 */
function withDisabledLevelsSkipped(logger: winston.Logger): winston.Logger {
  const methods = logger as unknown as Record<string, LevelMethod>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (!write) continue;
    // `this`, not `logger`: a child logger inherits these and must write with its own fields.
    methods[level] = function (this: winston.Logger, ...args: unknown[]) {
      return this.isLevelEnabled(level) ? write.apply(this, args) : this;
    };
  }
  return logger;
}
