import { v1 } from '@google-cloud/aiplatform';
import * as grpc from '@grpc/grpc-js';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAgent, type LocalAgent } from './localAgent.js';

/** The fake's SessionService, through aiplatform's own client (the class-method path is covered by vertexAgentClient.test.ts). */
describe('startLocalAgent SessionService', () => {
  let agent: LocalAgent;
  let sessions: InstanceType<typeof v1.SessionServiceClient>;

  beforeAll(async () => {
    agent = await startLocalAgent();
    const [host, port] = agent.endpoint.split(':');
    sessions = new v1.SessionServiceClient({
      apiEndpoint: host,
      port: Number(port),
      sslCreds: grpc.credentials.createInsecure(),
      authClient: new PassThroughClient(),
    });
  });

  afterAll(async () => {
    await sessions.close();
    await agent.close();
  });

  it('creates, gets, lists and deletes sessions', async () => {
    const [operation] = await sessions.createSession({
      parent: agent.engine,
      session: { userId: 'wa-1', ttl: { seconds: 86_400 } },
      sessionId: 'chosen-id',
    });
    const [created] = await operation.promise();
    expect(created).toMatchObject({ name: `${agent.engine}/sessions/chosen-id`, userId: 'wa-1' });
    expect(agent.sessions.get('chosen-id')?.userId).toBe('wa-1');

    const [fetched] = await sessions.getSession({ name: `${agent.engine}/sessions/chosen-id` });
    expect(fetched.userId).toBe('wa-1');

    await (await sessions.createSession({ parent: agent.engine, session: { userId: 'wa-2' } }))[0].promise();
    const [listed] = await sessions.listSessions({ parent: agent.engine, filter: 'user_id="wa-1"' });
    expect(listed.map((session) => session.name)).toEqual([`${agent.engine}/sessions/chosen-id`]);

    const [deletion] = await sessions.deleteSession({ name: `${agent.engine}/sessions/chosen-id` });
    await deletion.promise();
    expect(agent.sessions.has('chosen-id')).toBe(false);
    await expect(sessions.getSession({ name: `${agent.engine}/sessions/chosen-id` })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});
