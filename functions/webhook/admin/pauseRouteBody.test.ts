import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, webhookConfigSchema } from '../../../shared/config/config.js';
import { createLogger } from '../../../shared/log/logger.js';
import type { InboundPublisher } from '../../../shared/queue/inboundPublisher.js';
import {
  createMemoryConversationWindowStore,
  createMemoryHandoffStore,
  createMemoryOptOutStore,
  createMemorySessionStore,
} from '../../../test/fakes/memoryStores.js';
import { installRequestGuard } from '../../requestGuard.js';
import { createWebhookHandler, MAX_WEBHOOK_BYTES } from '../webhook.js';
import { createAdminRoutes } from './adminRoutes.js';
import { createHandoffRoutes } from './handoffRoutes.js';
import { requireAdminToken } from './requireAdminToken.js';

const TOKEN = 'admin-token';
const PN = '123456789012345';
const now = new Date('2026-12-05T10:00:00Z');

describe('POST /whatsapp/sessions/{id}/handoff over HTTP, as deployed (the request guard in front)', () => {
  let url: string;
  let server: ReturnType<typeof getTestServer>;
  const handoffs = createMemoryHandoffStore();

  beforeAll(async () => {
    const log = createLogger('webhook', 'silent');
    // What functions/index.ts does for the webhook target.
    installRequestGuard({ log, maxBodyBytes: MAX_WEBHOOK_BYTES });
    const windows = createMemoryConversationWindowStore();
    for (const phone of ['5491155550001', '5491155550002']) await windows.noteUserMessage({ phoneNumberId: PN, userId: phone, phone, lastUserMessageAt: now });
    const handoff = createHandoffRoutes({ handoffs, windows, settings: { timeoutMs: 60 * 60_000 }, log, now: () => now });
    const routes = createAdminRoutes({ sessions: createMemorySessionStore(), optOuts: createMemoryOptOutStore(), messages: async () => undefined, handoff, log });
    const config = loadConfig(webhookConfigSchema, { GOOGLE_CLOUD_PROJECT: 'p', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_APP_SECRET: 's', ADMIN_API_TOKEN: TOKEN });
    const publisher = {} as InboundPublisher;
    http('webhook-pause-body', createWebhookHandler(config, { publisher, log, adminRoutes: requireAdminToken(TOKEN, async () => routes, log) }));
    server = getTestServer('webhook-pause-body');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const pauseWith = async (body: string | undefined, user = '5491155550001') => {
    const response = await request(`${url}/whatsapp/sessions/${user}/handoff`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  };

  it('refuses a body that is not JSON instead of pausing with the defaults', async () => {
    // An operator meant a 5-minute pause; the body has a trailing comma.
    expect(await pauseWith('{"minutes": 5, "reason": "VIP",}')).toEqual({ status: 400, body: { error: 'invalid_request', details: 'the body is not JSON' } });
    expect(handoffs.records.size).toBe(0);
  });

  it('pauses with the body\'s minutes, and with the defaults when there is no body', async () => {
    expect(await pauseWith('{"minutes": 5, "reason": "VIP"}')).toMatchObject({ status: 200, body: { handoff: { until: '2026-12-05T10:05:00.000Z', reason: 'VIP' } } });
    expect(await pauseWith(undefined, '5491155550002')).toMatchObject({ status: 200, body: { handoff: { until: '2026-12-05T11:00:00.000Z' } } });
  });
});
