import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import {
  createMemoryHandoffStore,
  createMemoryHeldReplyStore,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
} from '../../test/fakes/memoryStores.js';
import { recordDeliveryStatus, type StatusDeps } from './recordDeliveryStatus.js';

const now = new Date('2026-12-05T12:00:00Z');
const user = { phoneNumberId: '111111111111111', userId: 'AR.1', phone: '5491100000001' };

function deps() {
  const templates: string[] = [];
  const whatsapp = {
    sendTemplate: async ({ template }: { template: { name: string } }) => `wamid.template.${templates.push(template.name)}`,
  } as unknown as WhatsAppClient;
  const d: StatusDeps = {
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

const failed131047 = {
  v: 1 as const,
  kind: 'status' as const,
  wamid: 'wamid.out.1',
  status: 'failed' as const,
  timestamp: Math.floor(now.getTime() / 1000),
  phoneNumberId: user.phoneNumberId,
  recipient: user.userId,
  error: { code: 131047, details: 'Re-engagement message' },
};

describe('recordDeliveryStatus: a 131047 failure of a reply', () => {
  const reply = { wamid: 'wamid.out.1', ...user, kind: 'reply' as const, inReplyTo: 'wamid.in.1', chunkIndex: 0, text: 'Tu pedido' };

  it('holds the recorded reply and sends the template once, however often Meta sends the status', async () => {
    const { d, templates } = deps();
    await d.outbound.recordSent(reply, now);
    expect(await recordDeliveryStatus(failed131047, d)).toBe('recorded');
    expect(await recordDeliveryStatus(failed131047, d)).toBe('unchanged');
    expect((await d.held.get(user.phoneNumberId, user.userId, now))?.replies.map((r) => r.text)).toEqual(['Tu pedido']);
    expect(templates).toEqual(['come_back']);
  });

  it('overtaking the worker\'s record of the send, waits for it through a retry, then holds the reply', async () => {
    const { d, templates } = deps();
    await expect(recordDeliveryStatus(failed131047, d)).rejects.toMatchObject({ name: 'RetryableError', reason: 'status_before_send' });
    expect(await d.outbound.get('wamid.out.1')).toBeUndefined();
    await d.outbound.recordSent(reply, now);
    expect(await recordDeliveryStatus(failed131047, d)).toBe('recorded');
    expect((await d.outbound.get('wamid.out.1'))?.status?.status).toBe('failed');
    expect((await d.held.get(user.phoneNumberId, user.userId, now))?.replies.map((r) => r.text)).toEqual(['Tu pedido']);
    expect(templates).toEqual(['come_back']);
  });

  it('records an old one for a message the bridge has no record of (not its send), holding nothing', async () => {
    const { d, templates } = deps();
    const old = { ...failed131047, timestamp: failed131047.timestamp - 31 };
    expect(await recordDeliveryStatus(old, d)).toBe('recorded');
    expect(await d.held.get(user.phoneNumberId, user.userId, now)).toBeUndefined();
    expect(templates).toEqual([]);
  });
});
