/**
 * The dashboard with operator keys on, in a real headless Chromium against a real API process:
 * it asks for a key once, keeps it in sessionStorage only, shows a clear message for a wrong key,
 * tells a read key it may not requeue, and with an operate key requeues one FAILED record and
 * redrives several, showing who did it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  newTransactionDocument,
  transactionWebhookSchema,
  type TransactionDocument,
} from '@txhook/transactions';
import {
  type AppProcess,
  e2eEnv,
  openCollection,
  sampleWebhook,
  startApi,
  stopAll,
  waitFor,
} from '@txhook/test-kit';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const token = () => `txk_${randomBytes(32).toString('base64url')}`;
const digest = (value: string) => createHash('sha256').update(value).digest('hex');
const READ = token();
const OPERATE = token();

const env = e2eEnv('dashboard_auth', {
  OPERATOR_KEYS: `viewer:read:${digest(READ)},alice:operate:${digest(OPERATE)}`,
});
const processes: AppProcess[] = [];
let baseUrl: string;
let store: Awaited<ReturnType<typeof openCollection>>;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  store = await openCollection(env);
  const started = await startApi(env);
  processes.push(started.api);
  baseUrl = started.baseUrl;
  userDataDir = mkdtempSync(path.join(tmpdir(), 'txhook-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    // The browser logs every 401/403 fetch as a console error; those are the point of this test.
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  // Every confirmation is read and accepted, as an operator clicking OK would.
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.accept();
  });
}, 90_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await stopAll(processes);
  await store.close();
});

const textOf = (selector: string) => page.locator(selector).innerText();
const showing = (selector: string, pattern: RegExp, timeout = 10_000) =>
  waitFor(
    `${selector} to match ${pattern}`,
    async () => (pattern.test(await textOf(selector)) ? true : undefined),
    timeout,
    50,
  );

async function insertFailed(error: string): Promise<string> {
  const doc: TransactionDocument = {
    ...newTransactionDocument(transactionWebhookSchema.parse(sampleWebhook()), new Date()),
    status: 'FAILED',
    attempts: 5,
    last_error: error,
    failed_at: new Date(),
  };
  await store.transactions.insertOne(doc);
  return doc.transaction_id;
}

const statusOf = async (id: string) => (await store.transactions.findOne({ transaction_id: id }))?.status;

it('asks for a key, explains a refused one, and keeps it in this tab only', async () => {
  const response = await page.goto(`${baseUrl}/dashboard`);
  expect(response?.status()).toBe(200);
  await page.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
  await showing('#key-message', /needs an operator key/);

  await page.fill('#key', `txk_${'x'.repeat(43)}`);
  await page.click('#use-key');
  await showing('#key-message', /That key was refused \(401\)/);

  await page.fill('#key', READ);
  await page.keyboard.press('Enter');
  await showing('#state', /^live$/);
  expect(await page.locator('#auth').isVisible()).toBe(false);
  // Asked once: a reload of this tab keeps the key (sessionStorage)...
  await page.reload();
  await showing('#state', /^live$/);
  expect(await page.locator('#auth').isVisible()).toBe(false);
  // ...another tab does not have it, and nothing is in cookies or localStorage.
  const other = await context.newPage();
  await other.goto(`${baseUrl}/dashboard`);
  await other.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
  await other.close();
  expect(await context.cookies()).toEqual([]);
  expect((await context.storageState()).origins).toEqual([]);
}, 60_000);

it('tells a read key it may not requeue, and changes nothing', async () => {
  const id = await insertFailed('card network down');
  const row = page.locator(`#tx-body tr[data-id="${id}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.locator('button.requeue').click();
  await showing('#action-message', /an operate key is needed/);
  expect(dialogs.pop()).toContain(`Requeue ${id}?`);
  expect(await statusOf(id)).toBe('FAILED');
}, 30_000);

it('with an operate key requeues one FAILED record and redrives several, showing who did it', async () => {
  await page.click('#forget');
  await page.locator('#auth').waitFor({ state: 'visible' });
  await page.fill('#key', OPERATE);
  await page.click('#use-key');
  await showing('#state', /^live$/);

  const failed = await store.transactions.findOne({ status: 'FAILED' });
  const id = failed!.transaction_id;
  const row = page.locator(`#tx-body tr[data-id="${id}"]`);
  await row.locator('button.requeue').click();
  await showing('#action-message', new RegExp(`Requeued ${id} \\(by alice\\)`));
  expect(await statusOf(id)).toBe('PROCESSING');
  await waitFor(
    'requeued column',
    async () => ((await row.locator('td.requeued').innerText()).startsWith('alice') ? true : undefined),
    10_000,
    50,
  );

  const timeouts = [await insertFailed('timeout: upstream'), await insertFailed('timeout: upstream')];
  const other = await insertFailed('declined');
  await page.fill('#redrive-prefix', 'timeout:');
  await page.fill('#redrive-limit', '10');
  await page.click('#redrive');
  await showing('#action-message', /Redrive requeued 2 record\(s\)/);
  expect(dialogs.pop()).toMatch(/Requeue up to 10 FAILED records whose error starts with "timeout:"/);
  for (const tid of timeouts) {
    expect(await store.transactions.findOne({ transaction_id: tid })).toMatchObject({
      status: 'PROCESSING',
      requeued_by: 'alice',
    });
  }
  expect(await statusOf(other)).toBe('FAILED');
  expect(problems).toEqual([]);
}, 60_000);
