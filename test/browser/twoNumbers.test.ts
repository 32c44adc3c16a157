import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID } from '../../local/webhookBodies.js';
import { describeWithEmulators, startTestStack } from '../integration/testStack.js';

/** Two business numbers in the sandbox chat page (AGENT_ENGINE_BY_NUMBER), driven in Debian's Chromium. */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = 'test-results/chat-page';
const REPLY_TIMEOUT_MS = 30_000;
const SECOND = '109876543210987';
const SECOND_ENGINE = 'projects/local-project/locations/europe-west1/reasoningEngines/soporte-es';

const describeInBrowser = existsSync(CHROMIUM) ? describeWithEmulators : skipLoudly;

function skipLoudly(name: string, body: () => void): void {
  console.warn(`\nBROWSER TESTS SKIPPED: ${CHROMIUM} not found. Install it with: apt-get install -y chromium\n`);
  describe.skip(name, body);
}

describeInBrowser('the sandbox chat page with two business numbers', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    [stack, browser] = await Promise.all([
      startTestStack({
        AGENT_ENGINE_BY_NUMBER: JSON.stringify({ [SECOND]: SECOND_ENGINE }),
        TEXTS_BY_NUMBER: JSON.stringify({ [SECOND]: { WELCOME_TEXT: '¡Hola! Soporte en español.' } }),
      }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function write(page: Page, text: string): Promise<void> {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  it('one user writes to each number in its own tab: each tab shows its number\'s conversation, answered by its agent', async () => {
    const open = async (number: string) => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 850 } });
      page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
      await page.goto(stack.sandboxUrl!);
      await page.fill('#new-chat [name=name]', 'Dos Números');
      await page.fill('#new-chat [name=phone]', '15550109999');
      await page.click('#new-chat button[type=submit]');
      await page.selectOption('#business-number', number);
      return page;
    };
    const first = await open(DEFAULT_PHONE_NUMBER_ID);
    const second = await open(SECOND);
    try {
      expect(await first.locator('#business-number option').allTextContents()).toEqual([
        `business number ${DEFAULT_PHONE_NUMBER_ID}`,
        `business number ${SECOND}`,
      ]);
      await write(second, 'hola');
      await second.locator('.msg.bot', { hasText: 'Echo #1 (soporte-es): hola' }).waitFor({ timeout: REPLY_TIMEOUT_MS });
      await write(first, 'hello');
      await first.locator('.msg.bot', { hasText: 'Echo #1: hello' }).waitFor({ timeout: REPLY_TIMEOUT_MS });

      // Each tab shows only its number's conversation with the user.
      expect(await second.locator('.msg.bot').allTextContents()).toEqual([expect.stringContaining('¡Hola! Soporte en español.')]);
      expect(await first.locator('.msg.bot').allTextContents()).toEqual([expect.not.stringContaining('soporte-es')]);
      expect(await first.locator('.msg.user').allTextContents()).toEqual([expect.stringContaining('hello')]);

      // The replies left from the numbers written to; switching the first tab shows the other conversation.
      expect(stack.sandbox!.sent().map((sent) => [sent.phoneNumberId, sent.text?.split('\n').at(-1)])).toEqual([
        [SECOND, 'Echo #1 (soporte-es): hola'],
        [DEFAULT_PHONE_NUMBER_ID, 'Echo #1: hello'],
      ]);
      await first.selectOption('#business-number', SECOND);
      await expect.poll(() => first.locator('.msg.bot').allTextContents()).toEqual([expect.stringContaining('soporte-es')]);
    } finally {
      await first.screenshot({ path: `${SCREENSHOTS}/two-numbers.png`, fullPage: true });
      await Promise.all([first.close(), second.close()]);
    }
  });
});
