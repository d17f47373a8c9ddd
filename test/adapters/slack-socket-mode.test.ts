import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import type { SlackChatAdapter } from '../../adapters/slack/app.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { messageText, type SlackFake, slashCommandBody, startSlackFake } from '../support/slack-fake.js';

interface Envelope {
  envelope_id: string;
  payload: Record<string, unknown>;
}

/**
 * Slack over Socket Mode: with SLACK_APP_TOKEN set, Slipway's Bolt app calls
 * apps.connections.open on the (local) Web API, opens the WebSocket it is given, and receives
 * slash commands as envelopes that it must acknowledge on the socket — the real
 * @slack/socket-mode client against a local server speaking Slack's protocol.
 */
describe('Slack adapter over Socket Mode', () => {
  let database: TestDatabase;
  let slack: SlackFake;
  let sockets: WebSocketServer;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  const connected: WebSocket[] = [];
  const acks: Envelope[] = [];
  let envelopes = 0;

  /** Sends a slash command envelope, as Slack does, and waits for Slipway's ack of it. */
  const slashCommand = async (text: string, command = '/slipway') => {
    const socket = connected.at(-1);
    if (!socket) throw new Error('Slipway never connected');
    const id = `envelope-${++envelopes}`;
    const payload = Object.fromEntries(
      new URLSearchParams(
        slashCommandBody({
          command,
          text,
          userId: 'UADMIN',
          userName: 'root',
          responseUrl: `${slack.url}/respond/${envelopes}`,
        }),
      ),
    );
    const sent = Date.now();
    socket.send(
      JSON.stringify({ envelope_id: id, type: 'slash_commands', payload, accepts_response_payload: true }),
    );
    for (;;) {
      const ack = acks.find((a) => a.envelope_id === id);
      if (ack) return { ack, ms: Date.now() - sent };
      if (Date.now() - sent > 10_000) throw new Error(`no ack for ${id}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => sockets.once('listening', resolve));
    sockets.on('connection', (socket) => {
      connected.push(socket);
      socket.on('message', (data) => acks.push(JSON.parse(String(data)) as Envelope));
      // Slack opens every connection with hello; the client is connected only then.
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' } }));
    });
    const port = (sockets.address() as AddressInfo).port;
    slack = await startSlackFake({ socketModeUrl: `ws://127.0.0.1:${port}/link/?ticket=t1` });
    stack = await startChatSlipway(database, {
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_APP_TOKEN: 'xapp-1-test-token',
      SLACK_API_URL: slack.apiUrl,
      SLIPWAY_ADMINS: 'slack:T1:UADMIN',
    });
    const em = stack.em();
    const setup = { memberId: null, name: 'setup', source: 'test' };
    const project = await stack.slipway.services.setup.createProject(em, setup, {
      name: 'app',
      repository: 'https://example.invalid/app.git',
    });
    await stack.slipway.services.setup.createEnvironment(em, setup, project, {
      name: 'staging',
      tier: 'staging',
      branch: 'main',
    });
  });
  afterAll(async () => {
    await stack?.stop();
    for (const socket of connected) socket.terminate();
    await new Promise((resolve) => sockets?.close(resolve));
    await slack?.close();
    await database?.drop();
  });

  it('connects with the app token through apps.connections.open, and needs no signing secret', () => {
    expect((stack.slipway.chat.adapter('slack') as SlackChatAdapter | undefined)?.mode).toBe('socket');
    const open = slack.requests.find((r) => r.path === '/api/apps.connections.open');
    expect(open?.headers.authorization).toBe('Bearer xapp-1-test-token');
    expect(connected).toHaveLength(1);
  });

  it('acks a command envelope on the socket at once, then posts the reply with the bot token', async () => {
    slack.clear();
    const { ack, ms } = await slashCommand('status app');
    expect(ack.payload).toEqual({});
    expect(ms).toBeLessThan(3000);
    const posted = await slack.waitFor(
      (r) => r.path === '/api/chat.postMessage' && messageText(r.body).includes('Status of app'),
    );
    expect(posted.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(messageText(posted.body)).toContain('app/staging');
  });

  it('answers bad input privately in the ack payload, with the usage line, and posts nothing', async () => {
    slack.clear();
    const { ack } = await slashCommand('', '/deploy');
    expect(ack.payload.response_type).toBe('ephemeral');
    expect(messageText(ack.payload)).toContain('&lt;project&gt; is missing');
    expect(messageText(ack.payload)).toContain('/deploy &lt;project&gt; &lt;env&gt; [ref]');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.requests.filter((r) => r.path === '/api/chat.postMessage')).toHaveLength(0);
  });
});
