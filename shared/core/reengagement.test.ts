import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import {
  createMemoryHandoffStore,
  createMemoryHeldReplyStore,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
} from '../../test/fakes/memoryStores.js';
import { pause } from './handoff.js';
import { holdReplies, type ReengagementDeps } from './reengagement.js';

const user = { phoneNumberId: 'pn1', userId: 'AR.1', phone: '5491100000001' };
const now = new Date('2026-12-05T12:00:00Z');

function deps() {
  const templates: string[] = [];
  const whatsapp = {
    sendTemplate: async ({ phoneNumberId, template }) => `wamid.template.${templates.push(`${phoneNumberId}:${template.name}/${template.language}`)}`,
  } as Pick<WhatsAppClient, 'sendTemplate'> as WhatsAppClient;
  const d: ReengagementDeps = {
    held: createMemoryHeldReplyStore(),
    optOuts: createMemoryOptOutStore(),
    outbound: createMemoryOutboundMessageStore(),
    handoffs: createMemoryHandoffStore(),
    whatsapp,
    log: createLogger('test', 'silent'),
    settings: { reengageTemplate: { name: 'come_back', language: 'es' }, heldReplyTtlMs: 72 * 3600_000 },
    numbers: { settingsOf: () => ({}) },
    now: () => now,
  };
  return { d, templates };
}

const replies = [{ id: 'wamid.in.1#0', text: 'Tu pedido está listo', heldAt: now }];

describe('holdReplies', () => {
  it('holds the reply and invites the user back with the template, once', async () => {
    const { d, templates } = deps();
    await holdReplies(user, replies, d);
    await holdReplies(user, replies, d);
    expect(templates).toEqual(['pn1:come_back/es']);
    expect((await d.held.get(user.phoneNumberId, user.userId, now))?.replies.map((r) => r.text)).toEqual(['Tu pedido está listo']);
  });

  it('while a person has the conversation: holds the reply but sends no template; after the pause it may', async () => {
    const { d, templates } = deps();
    await d.handoffs!.pause(user, (current) => pause(current, { by: 'admin', minutes: 30 }, now, { timeoutMs: 3600_000 }), now);
    await holdReplies(user, replies, d);
    expect(templates).toEqual([]);
    expect((await d.held.get(user.phoneNumberId, user.userId, now))?.replies).toHaveLength(1);
    await d.handoffs!.resume(user, now);
    await holdReplies(user, [{ ...replies[0]!, id: 'wamid.in.2#0' }], d);
    expect(templates).toEqual(['pn1:come_back/es']);
  });

  it('sends each business number\'s own template, or none where that number switched it off', async () => {
    const { d, templates } = deps();
    d.numbers = {
      settingsOf: (phoneNumberId) =>
        ({ pnBR: { reengageTemplate: { name: 'volte_sempre', language: 'pt_BR' } }, pnOff: { reengageTemplate: undefined } })[phoneNumberId] ?? {},
    };
    await holdReplies({ ...user, phoneNumberId: 'pnBR' }, replies, d);
    await holdReplies({ ...user, phoneNumberId: 'pnOff' }, replies, d);
    await holdReplies(user, replies, d);
    expect(templates).toEqual(['pnBR:volte_sempre/pt_BR', 'pn1:come_back/es']);
    expect((await d.held.get('pnOff', user.userId, now))?.replies).toHaveLength(1);
  });
});
