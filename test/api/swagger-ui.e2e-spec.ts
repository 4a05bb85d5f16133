import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { INestApplication } from '@nestjs/common';
import { Browser, chromium } from 'playwright-core';
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { removeLabelled } from '../support/engine-cli';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';

const CHROMIUM = '/usr/bin/chromium';
const VIEWER_KEY = 'swagger-viewer-key-0123456789';
const SUITE = 'swagger-ui';
// Debian's Chromium, headless, with everything that would reach for the network switched off (none is reachable).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const browserPresent = existsSync(CHROMIUM);
if (!browserPresent && process.env.REQUIRE_BROWSER === 'true') {
  throw new Error(`REQUIRE_BROWSER=true but ${CHROMIUM} is missing: run scripts/browser-up.sh as root`);
}
if (!browserPresent) process.stdout.write(`swagger-ui test skipped: ${CHROMIUM} is missing (scripts/browser-up.sh)\n`);

(browserPresent ? describe : describe.skip)('Swagger UI in a real browser', () => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;
  let browser: Browser;
  let seededName: string;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    ({ app, baseUrl } = await startTestApp(database, { RUNNERHUB_API_KEYS: `${VIEWER_KEY}:viewer` }));
    const manager = app.get(ContainerLifecycleManager);
    const id = await manager.createContainer('runner-ui', 'job-ui', {
      image: TEST_IMAGE,
      command: ['sleep', '60'],
      labels: { [TEST_LABEL]: SUITE },
    });
    seededName = (await manager.get(id)).name;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    removeLabelled(`${TEST_LABEL}=${SUITE}`);
    await database?.drop();
  });

  it('authorizes with an API key, runs "List containers" and shows a 200 with the seeded container', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${baseUrl}/api/docs`);
      await page
        .getByRole('button', { name: /authorize/i })
        .first()
        .click();
      const dialog = page.locator('.modal-ux');
      await dialog.locator('input').first().fill(VIEWER_KEY);
      // Swagger UI labels these buttons for screen readers ("Apply credentials"); what a person sees is the text.
      await dialog.locator('button', { hasText: /^Authorize$/ }).click();
      await dialog.locator('button', { hasText: /^Logout$/ }).waitFor();
      await dialog.locator('button', { hasText: /^Close$/ }).click();

      const operation = page.locator('[id$="-listContainers"]').first();
      await operation.locator('.opblock-summary').click();
      await operation.getByRole('button', { name: /try it out/i }).click();
      await operation.getByRole('button', { name: /execute/i }).click();

      // The live response row (the table's header row is labelled "Code").
      const live = operation.locator('.live-responses-table tr.response');
      await live.locator('.response-col_status').waitFor({ timeout: 15_000 });
      await expect(live.locator('.response-col_status').textContent()).resolves.toContain('200');
      await expect(live.locator('.response-col_description').textContent()).resolves.toContain(seededName);
    } catch (error) {
      const dir = join(__dirname, '../../test-results');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'swagger-ui-failure.png'), fullPage: true });
      throw error;
    } finally {
      await page.close();
    }
  });
});
