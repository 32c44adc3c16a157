import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { newWamid, textWebhook } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

/** The agent's WhatsApp tool calls, through the whole stack: rendered, sent in order, tapped, answered. */
describeWithEmulators('the agent speaks WhatsApp: buttons, lists, media, location, links', () => {
  let stack: LocalStack;
  let userCount = 0;
  const newUser = () => ({ phone: `4477009${String((userCount += 1)).padStart(5, '0')}`, name: `Tapper ${userCount}` });

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  const sentTo = (phone: string) => stack.sandbox!.sent().filter((message) => message.to === `+${phone}`);
  const waitForSent = (phone: string, count: number) =>
    stack.sandbox!.waitFor(() => sentTo(phone).length >= count && sentTo(phone), 60_000);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

  it('buttons → tap → the agent’s next turn gets the title and the id', async () => {
    const user = newUser();
    await postWebhook(stack, textWebhook(user, 'show me buttons'));
    const [intro, buttons] = await waitForSent(user.phone, 2);
    expect(intro!.type).toBe('text');
    expect(intro!.text).toBe('Sure, here are some buttons.');
    expect(buttons!.type).toBe('interactive');
    expect(buttons!.body.interactive).toEqual({
      type: 'button',
      body: { text: 'Which size would you like?' },
      action: {
        buttons: [
          { type: 'reply', reply: { id: 'small', title: 'Small' } },
          { type: 'reply', reply: { id: 'medium', title: 'Medium' } },
          { type: 'reply', reply: { id: 'size-large', title: 'Large' } },
        ],
      },
    });

    const tap = await stack.sandbox!.tapButton(user, buttons!.id, { kind: 'button_reply', id: 'size-large', title: 'Large' });
    expect(tap.status).toBe(200);
    const [, , answer] = await waitForSent(user.phone, 3);
    const call = stack.agent!.calls.at(-1)!;
    expect(call.text).toBe('[Replying to your earlier message: "Which size would you like?"]\nLarge\n[option id: size-large]');
    expect(answer!.text).toBe('You chose "Large" (option id: size-large).');
    await settle();
    expect(sentTo(user.phone)).toHaveLength(3);
  });

  it('a list row picked from a list reaches the agent the same way', async () => {
    const user = newUser();
    await postWebhook(stack, textWebhook(user, 'a list please'));
    const [list] = await waitForSent(user.phone, 1);
    const interactive = list!.body.interactive as { type: string; action: { button: string; sections: { rows: { id: string; title: string }[] }[] } };
    expect(interactive.type).toBe('list');
    expect(interactive.action.button).toBe('Pick a day');
    const rows = interactive.action.sections[0]!.rows;
    expect(rows.map((row) => row.id)).toEqual(['monday', 'tuesday', 'wednesday', 'thursday', 'later']);

    await stack.sandbox!.tapButton(user, list!.id, { kind: 'list_reply', id: 'later', title: 'Later this month' });
    const [, answer] = await waitForSent(user.phone, 2);
    expect(answer!.text).toBe('You chose "Later this month" (option id: later).');
  });

  it('sends a photo and a document by link, in the agent’s order with its text', async () => {
    const user = newUser();
    await postWebhook(stack, textWebhook(user, 'send a photo'));
    const [photo, after] = await waitForSent(user.phone, 2);
    expect(photo!.type).toBe('image');
    expect(photo!.body.image).toEqual({ link: 'https://picsum.photos/seed/whatsapp-bridge/640/400', caption: 'Fresh from the oven' });
    expect(after!.text).toBe('Anything else?');

    await postWebhook(stack, textWebhook(user, 'and the document'));
    const [, , intro, document] = await waitForSent(user.phone, 4);
    expect(intro!.text).toBe('Here is our menu.');
    expect(document!.type).toBe('document');
    expect(document!.body.document).toMatchObject({ filename: 'menu.pdf', caption: 'Menu' });
  });

  it('sends a location pin and a link button', async () => {
    const user = newUser();
    await postWebhook(stack, textWebhook(user, 'your location?'));
    const [intro, pin] = await waitForSent(user.phone, 2);
    expect(intro!.text).toBe('We are here:');
    expect(pin!.body.location).toEqual({
      latitude: -34.6037,
      longitude: -58.3816,
      name: 'Example Bakery',
      address: 'Av. Corrientes 1234, Buenos Aires',
    });

    await postWebhook(stack, textWebhook(user, 'a link to order'));
    const [, , cta] = await waitForSent(user.phone, 3);
    expect(cta!.body.interactive).toEqual({
      type: 'cta_url',
      body: { text: 'Order online and skip the queue.' },
      action: { name: 'cta_url', parameters: { display_text: 'Order now', url: 'https://example.com/order' } },
    });
  });

  it('a malformed call is logged and sent as the text it holds; the message is answered, not failed', async () => {
    const user = newUser();
    const wamid = newWamid();
    stack.agent!.reply(() => [
      { text: 'Before the broken call.' },
      { call: 'whatsapp_buttons', args: { text: 'Pick one', options: [] } },
      { call: 'whatsapp_location', args: { latitude: 123, longitude: 0, name: 'Nowhere' } },
      { call: 'whatsapp_media', args: { type: 'image', url: 'http://insecure.example.com/a.png', caption: 'Insecure' } },
      { text: 'After it.' },
    ]);
    await postWebhook(stack, textWebhook(user, 'anything', { wamid }));
    const sent = await waitForSent(user.phone, 5);
    expect(sent.map((message) => [message.type, message.text])).toEqual([
      ['text', 'Before the broken call.'],
      ['text', 'Pick one'],
      ['text', 'Nowhere'],
      ['text', 'Insecure'],
      ['text', 'After it.'],
    ]);
    await stack.sandbox!.waitFor(() =>
      stack.worker.lines.some((line) => line.includes(wamid) && line.includes('whatsapp_location') && line.includes('latitude is not between -90 and 90')),
    );
    expect(stack.sandbox!.requests.filter((request) => request.status >= 400)).toEqual([]);
  });

  it('sends each rendered part once when Graph fails mid-reply, without asking the agent again', async () => {
    const user = newUser();
    stack.agent!.reply(() => {
      // The first part goes out; the next send (the buttons) is refused once with a retryable error.
      void stack.sandbox!.waitFor(() => sentTo(user.phone).length === 1, 20_000).then(() =>
        stack.sandbox!.failNext({ status: 500, code: 131000, only: 'send' }),
      );
      return [
        { text: 'First part.' },
        { call: 'whatsapp_buttons', args: { text: 'Second part?', options: ['Yes', 'No'] } },
        { text: 'Third part.' },
      ];
    });
    await postWebhook(stack, textWebhook(user, 'go'));
    const sent = await waitForSent(user.phone, 3);
    await settle();
    expect(sentTo(user.phone).map((message) => [message.type, message.text])).toEqual([
      ['text', 'First part.'],
      ['interactive', 'Second part?'],
      ['text', 'Third part.'],
    ]);
    expect(sent).toHaveLength(3);
    const refused = stack.sandbox!.requests.filter((request) => request.status === 500);
    expect(refused.map((request) => (request.body as { type?: string }).type)).toEqual(['interactive']);
    expect(stack.agent!.calls).toHaveLength(1);
  });
});
