import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from '../src/logger';

/** A logger whose Console transport is swapped for a sink that keeps each line. */
function capturedLogger(level: 'info' | 'debug', context: () => object | undefined) {
  const logger = createLogger(
    'test',
    { NODE_ENV: 'production', LOG_LEVEL: level, LOG_FORMAT: 'json' },
    { context },
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  logger.clear();
  logger.add(new winston.transports.Stream({ stream: sink }));
  return { logger, lines };
}

describe('createLogger', () => {
  it('does no work for a level it does not write: the line is never formatted', () => {
    // winston formats every line (context, timestamp, JSON) before its transport drops it by
    // level; a worker's per-record debug lines at LOG_LEVEL=info were that cost.
    const context = jest.fn(() => ({ request_id: 'r-1' }));
    const { logger, lines } = capturedLogger('info', context);
    for (let i = 0; i < 100; i++) logger.debug('transaction claimed', { transaction_id: `tx-${i}` });
    logger.verbose('not written either');
    expect(context).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('writes every enabled level with its fields and the context, as before', () => {
    const context = jest.fn(() => ({ request_id: 'r-1' }));
    const { logger, lines } = capturedLogger('debug', context);
    logger.debug('transaction claimed', { transaction_id: 'tx-1' });
    logger.info('transaction processed', { transaction_id: 'tx-2', request_id: 'given' });
    logger.error('failed', { transaction_id: 'tx-3' });
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      parsed.map(({ level, message, transaction_id, request_id, service }) => ({
        level,
        message,
        transaction_id,
        request_id,
        service,
      })),
    ).toEqual([
      {
        level: 'debug',
        message: 'transaction claimed',
        transaction_id: 'tx-1',
        request_id: 'r-1',
        service: 'test',
      },
      {
        level: 'info',
        message: 'transaction processed',
        transaction_id: 'tx-2',
        request_id: 'given',
        service: 'test',
      },
      { level: 'error', message: 'failed', transaction_id: 'tx-3', request_id: 'r-1', service: 'test' },
    ]);
  });

  it("writes a child logger's lines with the child's own fields", () => {
    const { logger, lines } = capturedLogger('info', () => undefined);
    logger.child({ worker_id: 'w-1' }).info('worker started');
    logger.child({ worker_id: 'w-2' }).debug('hidden');
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ message: 'worker started', worker_id: 'w-1' }),
    ]);
  });

  it('still honours a level raised or lowered after creation', () => {
    const { logger, lines } = capturedLogger('info', () => undefined);
    logger.debug('hidden');
    logger.level = 'debug';
    logger.debug('shown');
    logger.level = 'warn';
    logger.info('hidden again');
    expect(lines.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['shown']);
  });
});
