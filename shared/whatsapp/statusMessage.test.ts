import { describe, expect, it } from 'vitest';
import { metaExamples } from '../../test/fixtures/metaExamples.js';
import { parseWebhookBody } from './parseWebhookBody.js';
import { statusMessageSchema, toStatusMessage } from './statusMessage.js';

const statusesOf = (raw: string) => parseWebhookBody(JSON.parse(raw)).statuses;

describe('toStatusMessage', () => {
  it('E7: a delivered status becomes a small queue message keyed on the business number and the user', () => {
    const [status] = statusesOf(metaExamples.E7);
    const message = toStatusMessage(status!);
    expect(message).toEqual({
      v: 1,
      kind: 'status',
      wamid: 'wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABEYEkJPVF9SRVBMWV8wMDAwMDAxAA==',
      status: 'delivered',
      timestamp: 1790000065,
      phoneNumberId: '123456789012345',
      recipient: 'AR.13491208655302741918',
    });
    expect(statusMessageSchema.parse(message)).toEqual(message);
    // Pricing, conversation and callback data stay behind: a status costs a few hundred bytes.
    expect(JSON.stringify(message).length).toBeLessThan(300);
  });

  it('E8: a failed status keeps Meta’s code and details', () => {
    const [status] = statusesOf(metaExamples.E8);
    expect(toStatusMessage(status!)).toMatchObject({
      status: 'failed',
      recipient: '447700900123',
      error: { code: 131047, details: 'More than 24 hours have passed since the recipient last replied to the sender number.' },
    });
  });

  it('leaves out statuses the bridge does not track, saying why', () => {
    const [status] = statusesOf(metaExamples.E7);
    expect(toStatusMessage({ ...status!, status: 'deleted' })).toEqual({ ignored: 'status deleted is not tracked' });
    expect(toStatusMessage({ ...status!, phoneNumberId: undefined })).toMatchObject({ ignored: expect.stringContaining('phone_number_id') });
  });
});
