/**
 * The operator dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser download), against real API + worker processes.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  type AppProcess,
  e2eEnv,
  openCollection,
  postWebhook,
  sampleWebhook,
  startApi,
  startWorker,
  stopAll,
  waitFor,
  waitForStatus,
} from '@txhook/test-kit';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.resolve(__dirname, '..', '..', 'test-artifacts', 'dashboard.png');

const env = e2eEnv('dashboard', { PROCESSING_DELAY_MS: '1500' });
const processes: AppProcess[] = [];
let baseUrl: string;
let store: Awaited<ReturnType<typeof openCollection>>;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  store = await openCollection(env);
  const started = await startApi(env);
  processes.push(started.api);
  baseUrl = started.baseUrl;
  userDataDir = mkdtempSync(path.join(tmpdir(), 'txhook-chromium-'));
  // No skip when Chromium is missing or cannot start: this throws and the suite fails.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  // CSP violations and script errors show up here; the page must produce none.
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:')) {
      problems.push(`external request: ${request.url()}`);
    }
  });
}, 90_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await stopAll(processes);
  await store.close();
});

const count = (p: Page, id: string) => p.locator(`#${id}`).innerText();
/**
 * Polls the page through locators: the CSP forbids eval, so no string predicates, and this
 * file has no DOM types for function predicates.
 */
const showing = (id: string, value: string, timeout = 10_000) =>
  waitFor(
    `#${id} to show ${value}`,
    async () => ((await count(page, id)) === value ? true : undefined),
    timeout,
    50,
  );
const rowsShown = (n: number) =>
  waitFor(
    `${n} table rows`,
    async () => ((await page.locator('#tx-body tr[data-id]').count()) === n ? true : undefined),
    5_000,
    50,
  );

it('shows live counts, the throughput chart and a searchable table, with no CSP violations', async () => {
  const response = await page.goto(`${baseUrl}/dashboard`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toBe('txhook · operations');
  // The inline script ran (allowed by its CSP hash) and rendered the first poll.
  await showing('state', 'live');
  expect(await count(page, 'count-PROCESSING')).toBe('0');

  const bodies = Array.from({ length: 6 }, (_, i) =>
    sampleWebhook({ transaction_id: `dash-${i}-${Date.now()}` }),
  );
  bodies.push(sampleWebhook({ transaction_id: `other-${Date.now()}` }));
  for (const body of bodies) expect((await postWebhook(baseUrl, body)).status).toBe(202);

  // No worker yet: the page shows them all PROCESSING and in the backlog.
  await showing('count-PROCESSING', '7');
  expect(await count(page, 'backlog')).toBe('7');
  expect(await count(page, 'tput-received')).toBe('7');
  expect(await page.locator('#tx-body tr[data-id]').count()).toBe(7);

  // Start a worker: the counts move to PROCESSED on the page.
  processes.push(await startWorker(env));
  for (const body of bodies) await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 20_000);
  await showing('count-PROCESSED', '7');
  expect(await count(page, 'count-PROCESSING')).toBe('0');
  expect(await count(page, 'tput-processed')).toBe('7');
  expect(await count(page, 'lag-p50')).toMatch(/^[\d.]+ (ms|s)$/);
  // The chart has drawn both series.
  expect(await page.locator('#chart polyline.received').count()).toBe(1);
  expect(await page.locator('#chart polyline.processed').count()).toBe(1);

  // Prefix search filters the loaded rows client-side.
  await page.fill('#search', 'dash-');
  await rowsShown(6);
  const shown = await Promise.all(
    (await page.locator('#tx-body tr[data-id]').all()).map((row) => row.getAttribute('data-id')),
  );
  expect(shown.every((id) => id?.startsWith('dash-'))).toBe(true);
  await page.fill('#search', bodies[6]!.transaction_id);
  await rowsShown(1);
  expect(await page.locator('#tx-body tr[data-id] .badge').innerText()).toBe('PROCESSED');
  await page.fill('#search', 'dash-');
  await rowsShown(6);

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(problems).toEqual([]);
}, 90_000);

it('finds a transaction outside the loaded rows by exact id', async () => {
  // Filtered to FAILED the table is empty; a full id that no row starts with is looked up exactly.
  await page.fill('#search', '');
  await page.selectOption('#status-filter', 'FAILED');
  await rowsShown(0);
  const target = await store.transactions.findOne({});
  await page.fill('#search', target!.transaction_id);
  await page.locator(`#tx-body tr[data-id="${target!.transaction_id}"]`).waitFor({ timeout: 5_000 });
  expect(problems).toEqual([]);
}, 30_000);
