/**
 * Bursts of new connections against the API while a worker drains (bench/analysis.md, "A burst of
 * new connections"). Two stacks side by side on one embedded server (memory backend), one with
 * the API's hold on new connections turned off (NEW_CONNECTION_QUIET_MS=0) and one with the
 * default, each with one worker making 5 s calls. Every round, for each connection count and each
 * stack in turn: a backlog of webhooks is posted at 8 connections, then that many new connections
 * open at once and post unique webhooks back to back for 3 s while the worker drains. Prints, per
 * burst, the slowest first answer of a connection (from its connect) and the answers over 500 ms.
 * With `close`, every sender opens a new connection for each webhook instead (no keep-alive, as
 * some senders post), so every answer is a first answer.
 * `bash scripts/ts.sh bench/src/connection-burst.ts [rounds=4] [connection counts=64,128] [backlog=5000] [keep-alive|close]`
 */
import { connect } from 'node:net';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { loadAverage, withStack, type Stack } from './harness';
import { postLoad, uniqueWebhookBody } from './load';

const BURST_SECONDS = 3;
const HOLDS = ['0', '2'] as const;

interface Burst {
  connections: number;
  slowestFirstAnswerMs: number;
  medianFirstAnswerMs: number;
  maxMs: number;
  over500ms: number;
  answers: number;
  non202: number;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 4);
  const counts = (process.argv[3] ?? '64,128').split(',').map(Number);
  const backlog = Number(process.argv[4] ?? 5_000);
  const reconnect = process.argv[5] === 'close';
  console.log(`load average ${loadAverage()}`);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  const settings = (quiet: string) => ({ NEW_CONNECTION_QUIET_MS: quiet, PROCESSING_DELAY_MS: '5000' });
  try {
    await withStack(server.url, 'hold_off', settings(HOLDS[0]), 1, (off) =>
      withStack(server.url, 'hold_on', settings(HOLDS[1]), 1, async (on) => {
        const stacks: Record<(typeof HOLDS)[number], Stack> = { '0': off, '2': on };
        for (let round = 1; round <= rounds; round++)
          for (const connections of counts)
            for (const quiet of HOLDS) {
              const { baseUrl } = stacks[quiet];
              await postLoad({ url: `${baseUrl}/v1/webhooks/transactions`, connections: 8, amount: backlog });
              const burst = await burstOfNewConnections(new URL(baseUrl).port, connections, reconnect);
              const mode = reconnect ? 'close' : 'keep-alive';
              console.log(
                JSON.stringify({ round, new_connection_quiet_ms: Number(quiet), backlog, mode, ...burst }),
              );
            }
      }),
    );
  } finally {
    await server.stop();
  }
}

/**
 * `count` connections opened at once, each posting unique webhooks back to back for BURST_SECONDS
 * (`reconnect`: `count` senders, each opening a new connection per webhook); raw sockets, so that
 * each connection's first answer is timed from its own connect.
 */
async function burstOfNewConnections(port: string, count: number, reconnect: boolean): Promise<Burst> {
  const until = performance.now() + BURST_SECONDS * 1_000;
  const firstAnswers: number[] = [];
  const result: Burst = {
    connections: count,
    slowestFirstAnswerMs: 0,
    medianFirstAnswerMs: 0,
    maxMs: 0,
    over500ms: 0,
    answers: 0,
    non202: 0,
  };
  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let sentAt = 0;
      let first = true;
      let received = '';
      const send = () => {
        const body = uniqueWebhookBody();
        sentAt = performance.now();
        socket.write(
          `POST /v1/webhooks/transactions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      };
      socket.on('connect', send);
      socket.on('data', (chunk) => {
        received += chunk.toString();
        for (;;) {
          const head = /^HTTP\/1\.1 (\d+)[\s\S]*?\r\n\r\n/.exec(received);
          const length = head ? /content-length: (\d+)/i.exec(head[0]) : null;
          if (!head || !length || received.length < head[0].length + Number(length[1])) return;
          received = received.slice(head[0].length + Number(length[1]));
          const ms = performance.now() - sentAt;
          if (first) firstAnswers.push(ms);
          first = false;
          result.answers += 1;
          result.maxMs = Math.max(result.maxMs, ms);
          if (ms > 500) result.over500ms += 1;
          if (head[1] !== '202') result.non202 += 1;
          if (reconnect) socket.end();
          else if (performance.now() < until) send();
          else socket.end();
        }
      });
      socket.on('close', () => resolve(reconnect && performance.now() < until ? one() : undefined));
      socket.on('error', () => undefined);
    });
  await Promise.all(Array.from({ length: count }, one));
  firstAnswers.sort((a, b) => a - b);
  result.slowestFirstAnswerMs = Math.round(firstAnswers.at(-1) ?? NaN);
  result.medianFirstAnswerMs = Math.round(firstAnswers[firstAnswers.length >> 1] ?? NaN);
  result.maxMs = Math.round(result.maxMs);
  return result;
}

void main();
