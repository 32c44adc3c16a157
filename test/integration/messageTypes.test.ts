import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { mediaWebhook, newWamid, reactionWebhook, textWebhook } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const photo = Buffer.from('\xff\xd8\xff\xe0 a tiny stand-in for a JPEG', 'latin1');
const sha256 = createHash('sha256').update(photo).digest('base64');

async function settle(ms = 1500) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

// Media on: test/integration/media.test.ts.
describeWithEmulators('message types, media off', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ MEDIA_UNSUPPORTED_TEXT: 'Please describe it in words.' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers an image with the friendly reply and does not call the agent', async () => {
    const sandbox = stack.sandbox!;
    const mediaId = sandbox.addMedia(photo, 'image/jpeg');
    await postWebhook(stack, mediaWebhook({ phone: '447700900124' }, 'image', { id: mediaId, mimeType: 'image/jpeg', sha256 }));
    const [reply] = await sandbox.waitFor(() => sandbox.sent().length > 0 && sandbox.sent());
    expect(reply!.text).toBe('Please describe it in words.');
    expect(stack.agent!.calls).toHaveLength(0);
  });

  it('acknowledges a reaction without any reply', async () => {
    const sandbox = stack.sandbox!;
    sandbox.reset();
    const user = { phone: '447700900125' };
    await postWebhook(stack, textWebhook(user, 'hello'));
    const [reply] = await sandbox.waitFor(() => sandbox.sent().length === 1 && sandbox.sent());
    const wamid = newWamid();
    expect((await postWebhook(stack, reactionWebhook(user, reply!.id, '👍', { wamid }))).status).toBe(200);
    // The worker settles the reaction (answered, nothing sent).
    await sandbox.waitFor(() => stack.worker.lines.some((line) => line.includes(wamid) && line.includes('nothing to answer')));
    await settle();
    expect(sandbox.sent()).toHaveLength(1);
  });

  it('carries the quoted bot message to the agent when the user replies to it', async () => {
    const sandbox = stack.sandbox!;
    sandbox.reset();
    const user = { phone: '447700900126' };
    await postWebhook(stack, textWebhook(user, 'When do you open?'));
    const [first] = await sandbox.waitFor(() => sandbox.sent().length === 1 && sandbox.sent());
    await postWebhook(stack, textWebhook(user, 'And on Sunday?', { context: { from: '15550001234', id: first!.id } }));
    await sandbox.waitFor(() => sandbox.sent().length === 2);
    const quoted = stack.agent!.calls.find((c) => c.text.endsWith('And on Sunday?'));
    expect(quoted?.text).toBe(`[Replying to your earlier message: "${first!.text}"]\nAnd on Sunday?`);
  });
});
