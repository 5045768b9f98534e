import winston from 'winston';
import type { AppConfig } from './config';

export type Logger = winston.Logger;

/** JSON lines in production (machine-readable), colourised single lines in development. */
export function createLogger(
  service: string,
  config: Pick<AppConfig, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV'>,
): Logger {
  const format = config.LOG_FORMAT ?? (config.NODE_ENV === 'production' ? 'json' : 'pretty');
  return winston.createLogger({
    level: config.LOG_LEVEL,
    defaultMeta: { service },
    format:
      format === 'json'
        ? winston.format.combine(winston.format.timestamp(), winston.format.json())
        : winston.format.combine(
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
