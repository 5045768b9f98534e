/**
 * Fault 7: the database misbehaves while webhooks arrive, through the real API process, the real
 * driver and the wire protocol (embedded server with fault injection, a server of its own):
 *   1. every insert answered with a writeConcernError (replication timed out),
 *   2. every insert held back past MONGODB_TIMEOUT_MS (a stalled primary),
 *   3. list and stats queries past their time limit (maxTimeMS expired, code 50).
 * Senders retry what is refused, 10 % of ids are delivered twice. Required: no 500, no 202/200
 * answered while a write could not be confirmed, 503 + Retry-After instead, and every transaction
 * stored exactly once in the end.
 */
import { MongoClient } from 'mongodb';
import {
  clearFault,
  injectFault,
  ServerErrorCode,
  startEmbeddedMongo,
  WRITE_CONCERN_TIMEOUT,
  type EmbeddedMongo,
} from '@txhook/embedded-mongo';
import {
  type AppProcess,
  e2eEnv,
  getJson,
  mapLimit,
  openCollection,
  postWebhook,
  recordFigures,
  sampleWebhook,
  sleep,
  startApi,
  stopAll,
  type WebhookBody,
} from '@txhook/test-kit';

type Phase = 'normal' | 'write-concern-error' | 'stalled-insert' | 'query-timeout';

interface Answer {
  status: number | 'network-error';
  retryAfter: string | null;
  /** The phase when the request was sent and when its answer came: a fault answer needs both. */
  phases: [Phase, Phase];
  ms: number;
}

const TRANSACTIONS = 600;
const SENDERS = 20;
const TIMEOUT_MS = 1_000;

const processes: AppProcess[] = [];
let database: EmbeddedMongo | undefined;
let control: MongoClient | undefined;

afterAll(async () => {
  await stopAll(processes);
  await control?.close();
  await database?.stop();
});

it('answers 503 + Retry-After while writes cannot be confirmed, never 500, and stores each id once', async () => {
  const started = Date.now();
  database = await startEmbeddedMongo({ faultInjection: true });
  control = await MongoClient.connect(database.url);
  const env = e2eEnv('faults_writepath', {
    MONGODB_URL: database.url,
    MONGODB_TIMEOUT_MS: String(TIMEOUT_MS),
  });
  const store = await openCollection(env);
  const { api, baseUrl } = await startApi(env);
  processes.push(api);

  let phase: Phase = 'normal';
  const answers: Answer[] = [];
  const record = async (send: () => Promise<{ status: number; headers: Headers }>): Promise<Answer> => {
    const from = phase;
    const t0 = performance.now();
    const response = await send().catch(() => undefined);
    const answer: Answer = {
      status: response?.status ?? 'network-error',
      retryAfter: response?.headers.get('retry-after') ?? null,
      phases: [from, phase],
      ms: performance.now() - t0,
    };
    answers.push(answer);
    return answer;
  };

  // Each sender delivers its share, a tenth of them twice, and retries whatever is not accepted.
  const deliveries: WebhookBody[] = [];
  for (let i = 0; i < TRANSACTIONS; i++) {
    const body = sampleWebhook();
    deliveries.push(body);
    if (i % 10 === 0) deliveries.push(body);
  }
  const send = async (body: WebhookBody) => {
    for (;;) {
      const answer = await record(() => postWebhook(baseUrl, body));
      if (answer.status === 200 || answer.status === 202) return answer.status;
      if (answer.status !== 503 && answer.status !== 'network-error') return answer.status;
      await sleep(100);
    }
  };
  const queryAnswers: Answer[] = [];
  const faults = (async () => {
    const appName = 'txhook';
    await sleep(1_500);
    await injectFault(control, { commands: ['insert'], appName, writeConcernError: WRITE_CONCERN_TIMEOUT });
    phase = 'write-concern-error';
    await sleep(3_000);
    phase = 'normal';
    await clearFault(control);
    await sleep(1_500);
    await injectFault(control, { commands: ['insert'], appName, delayMs: 3 * TIMEOUT_MS });
    phase = 'stalled-insert';
    await sleep(4_000);
    phase = 'normal';
    await clearFault(control);
    await sleep(1_000);
    await injectFault(control, {
      commands: ['find', 'aggregate'],
      appName,
      errorCode: ServerErrorCode.MaxTimeMSExpired,
    });
    phase = 'query-timeout';
    for (const path of ['/v1/transactions', '/v1/stats', '/v1/transactions?status=PROCESSING']) {
      queryAnswers.push(await record(() => getJson(`${baseUrl}${path}`)));
    }
    phase = 'normal';
    await clearFault(control);
  })();
  // Paced so the load spans all the phases.
  const finalStatuses = await mapLimit(deliveries, SENDERS, async (body) => {
    await sleep(300);
    return send(body);
  });
  await faults;

  const byStatus = (list: Answer[]) => {
    const counts: Record<string, number> = {};
    for (const a of list) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
    return counts;
  };
  const within = (p: Phase) => answers.filter((a) => a.phases[0] === p && a.phases[1] === p);
  const webhookAnswers = answers.filter((a) => !queryAnswers.includes(a));

  // Never a 500 (nor any other status than accepted, duplicate or "retry later").
  expect(Object.keys(byStatus(webhookAnswers)).every((s) => ['200', '202', '503'].includes(s))).toBe(true);
  // Every refusal tells the sender when to retry.
  expect(answers.filter((a) => a.status === 503).every((a) => /^\d+$/.test(a.retryAfter ?? ''))).toBe(true);
  // While the write concern could not be met, or inserts stalled, nothing was acknowledged.
  for (const fault of ['write-concern-error', 'stalled-insert'] as const) {
    const during = within(fault).filter((a) => !queryAnswers.includes(a));
    expect(during.length).toBeGreaterThan(0);
    expect(byStatus(during)).toEqual({ 503: during.length });
  }
  expect(byStatus(queryAnswers)).toEqual({ 503: queryAnswers.length });
  // In the end each id was accepted and is stored once (the unique index forbids more).
  expect(finalStatuses.every((s) => s === 200 || s === 202)).toBe(true);
  expect(await store.transactions.countDocuments()).toBe(TRANSACTIONS);
  await store.close();

  const stalled503 = within('stalled-insert').filter((a) => a.status === 503);
  recordFigures('write-path-faults', {
    transactions: TRANSACTIONS,
    deliveries: deliveries.length,
    senders: SENDERS,
    mongodb_timeout_ms: TIMEOUT_MS,
    answers_by_status: byStatus(webhookAnswers),
    during_write_concern_error: byStatus(within('write-concern-error')),
    during_stalled_insert: byStatus(within('stalled-insert')),
    stalled_insert_503_latency_ms: {
      min: Math.round(Math.min(...stalled503.map((a) => a.ms))),
      max: Math.round(Math.max(...stalled503.map((a) => a.ms))),
    },
    queries_during_time_limit_expiry: byStatus(queryAnswers),
    stored_records: TRANSACTIONS,
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
