import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { describeWithEmulators, startTestStack } from '../integration/testStack.js';
import { until } from '../reliability/helpers.js';

/** The sandbox chat page on the whole local stack, driven in Debian's Chromium as a user would. */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = 'test-results/chat-page';
const REPLY_TIMEOUT_MS = 30_000;

const describeInBrowser = existsSync(CHROMIUM) ? describeWithEmulators : skipLoudly;

function skipLoudly(name: string, body: () => void): void {
  const banner = '!'.repeat(78);
  console.warn(`\n${banner}\nBROWSER TESTS SKIPPED: ${CHROMIUM} not found. Install it with: apt-get install -y chromium\n${banner}\n`);
  describe.skip(name, body);
}

describeInBrowser('the sandbox chat page, on the local stack', () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let userCount = 0;

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    [stack, browser] = await Promise.all([
      startTestStack({ AGENT_ACCEPTS_MEDIA: 'true' }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  afterEach(async (context) => {
    await page?.screenshot({ path: `${SCREENSHOTS}/${context.task.name.replace(/\W+/g, '-')}.png`, fullPage: true });
    await page?.close();
  });

  /** A fresh page chatting as a user nobody has used yet, so each test starts its own agent session. */
  async function openChatAsNewUser(): Promise<Page> {
    page = await browser.newPage({ viewport: { width: 1200, height: 850 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(stack.sandboxUrl!);
    userCount += 1;
    await page.fill('#new-chat [name=name]', `Browser User ${userCount}`);
    await page.fill('#new-chat [name=phone]', `1555010${String(userCount).padStart(4, '0')}`);
    await page.click('#new-chat button[type=submit]');
    await expect.poll(() => page.textContent('#current-user')).toContain(`Browser User ${userCount}`);
    return page;
  }

  async function write(text: string): Promise<void> {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  const botBubbles = (text: string) => page.locator('.msg.bot', { hasText: text });

  it('shows the agent’s reply to "Hola" and read ticks on the user’s message', async () => {
    await openChatAsNewUser();
    await write('Hola');

    await botBubbles('Hola').first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    await expect.poll(() => botBubbles('Hola').first().textContent()).toContain('Echo #1: Hola');
    const mine = page.locator('.msg.user', { hasText: 'Hola' });
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 5_000 }).toBe('read');
    expect(await mine.locator('.ticks').textContent()).toBe('✓✓');
  });

  it('a voice note from the 🎤 button and an attached PDF reach the agent intact (it answers with what it read from Cloud Storage)', async () => {
    await openChatAsNewUser();
    await page.click('#voice');
    const voice = botBubbles('audio/ogg from gs://');
    await voice.first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    const voiceMediaId = stack.sandbox!.requests.find((r) => r.path.startsWith('/whatsapp_business/attachments/'))?.path;
    expect(voiceMediaId).toBeDefined();

    const pdf = Buffer.from('%PDF-1.4\n% a menu for the browser test\n%%EOF\n');
    await page.setInputFiles('#attach', { name: 'menu.pdf', mimeType: 'application/pdf', buffer: pdf });
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    await botBubbles(`${pdf.length} bytes, sha256 ${sha256}`).first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    expect(await page.locator('.msg.user .document', { hasText: 'menu.pdf' }).count()).toBe(1);
  });

  it('answers once when the same webhook is delivered twice', async () => {
    await openChatAsNewUser();
    await write('Only once, please');
    await botBubbles('Only once, please').first().waitFor({ timeout: REPLY_TIMEOUT_MS });

    await page.click('#redeliver');
    await page.locator('.note', { hasText: 'Re-delivered the last webhook → HTTP 200' }).waitFor();
    // Long enough for a duplicate to come through the queue and the worker if the dedupe failed.
    await page.waitForTimeout(3_000);

    expect(await botBubbles('Only once, please').count()).toBe(1);
    const sentToUser = stack.sandbox!.sent().filter((message) => message.text?.includes('Only once, please'));
    expect(sentToUser).toHaveLength(1);
  });

  it('the staff switch writes as the business: the bot pauses, the page says so, and the user’s next message gets no reply and no read ticks', async () => {
    await openChatAsNewUser();
    await write('Hola');
    await botBubbles('Echo #1: Hola').first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    expect(await page.isVisible('#handoff-banner')).toBe(false);

    await page.check('#as-staff');
    await write('Hola, soy Ana de la tienda');
    const staff = page.locator('.msg.staff', { hasText: 'Hola, soy Ana de la tienda' });
    await staff.waitFor();
    await page.locator('#handoff-banner').waitFor({ state: 'visible' });
    const echoWamid = (await staff.getAttribute('data-id'))!;
    await until(() => stack.worker.lines.some((line) => line.includes(echoWamid) && line.includes('hand-off started')), REPLY_TIMEOUT_MS, 'the echo pauses the bot');

    await page.uncheck('#as-staff');
    await write('¿Tienen talla M?');
    const mine = page.locator('.msg.user', { hasText: '¿Tienen talla M?' });
    await expect.poll(() => mine.getAttribute('data-status')).toBe('delivered');
    const wamid = (await mine.getAttribute('data-id'))!;
    await until(() => stack.worker.lines.some((line) => line.includes(wamid) && line.includes('message kept for staff')), REPLY_TIMEOUT_MS, 'kept for staff');
    // Long enough for a reply or a read receipt to come through if the pause failed.
    await page.waitForTimeout(2_000);
    expect(await page.locator('.msg.bot:not(.staff)').count()).toBe(1);
    expect(await mine.getAttribute('data-status')).toBe('delivered');
    expect(await page.isVisible('#handoff-banner')).toBe(true);
  });

  it('renders the agent’s Markdown as WhatsApp formatting', async () => {
    await openChatAsNewUser();
    await write('Can you answer in markdown?');

    const reply = page.locator('.msg.bot').last();
    await reply.locator('strong').first().waitFor({ timeout: REPLY_TIMEOUT_MS });
    const bold = await page.locator('.msg.bot strong').allTextContents();
    expect(bold.join(' ')).toMatch(/everything|passport/);
    expect(await page.locator('.msg.bot :is(ol, ul, pre)').count()).toBeGreaterThan(0);
    // The bot's text is shown as text: no asterisks left around bold words.
    expect(await page.locator('.msg.bot').allTextContents()).not.toContainEqual(expect.stringContaining('**'));
  });

  it('offers buttons; a click sends the tap and the agent’s next turn shows the choice', async () => {
    await openChatAsNewUser();
    await write('Show me some buttons');

    const large = page.locator('.msg.bot .choice', { hasText: 'Large' });
    await large.waitFor({ timeout: REPLY_TIMEOUT_MS });
    expect(await page.locator('.msg.bot', { hasText: 'Which size would you like?' }).locator('.choice').allTextContents()).toEqual([
      'Small',
      'Medium',
      'Large',
    ]);
    await large.click();

    // The tap shows as the user's message, quoting the buttons, and the agent answers it.
    await page.locator('.msg.user', { hasText: 'Large' }).locator('.quoted').waitFor();
    await botBubbles('You chose "Large" (option id: size-large).').waitFor({ timeout: REPLY_TIMEOUT_MS });
    const tapCall = stack.agent!.calls.at(-1)!;
    expect(tapCall.text.endsWith('Large\n[option id: size-large]')).toBe(true);
  });

  it('opens a list from its button and picks a row', async () => {
    await openChatAsNewUser();
    await write('Show me the list');

    const opener = page.locator('.msg.bot .list-button', { hasText: 'Pick a day' });
    await opener.waitFor({ timeout: REPLY_TIMEOUT_MS });
    expect(await page.locator('.msg.bot .sheet').isHidden()).toBe(true);
    await opener.click();
    await page.locator('.msg.bot .sheet .row', { hasText: 'Tuesday' }).click();
    await botBubbles('You chose "Tuesday" (option id: tuesday).').waitFor({ timeout: REPLY_TIMEOUT_MS });
  });
});
