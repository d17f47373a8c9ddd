import { App, type BlockAction, type ButtonAction, LogLevel, type RespondFn } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type { ChatUser, CommandResult, Conversation, PostedMessage, Reply } from '../../src/chat/model.js';
import { isActionId } from '../../src/chat/model.js';
import type { ProgressNotifier } from '../../src/chat/progress.js';
import type { ChatRouter } from '../../src/chat/router.js';
import type { Logger } from '../../src/logger.js';
import { replyToBlocks } from './blocks.js';
import { FastifyReceiver } from './receiver.js';

export interface SlackSettings {
  botToken: string;
  signingSecret?: string | undefined;
  appToken?: string | undefined;
  /** Web API base, e.g. https://slack.com/api/ (GovSlack, a proxy, tests). */
  apiUrl?: string | undefined;
}

export interface SlackAdapter {
  app: App;
  mode: 'http' | 'socket';
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Slack through Bolt 5: slash commands `/deploy`, `/promote` and `/slipway`, and the buttons on
 * Slipway's messages. Over HTTP at `/slack/events` on Slipway's server, or over Socket Mode when
 * an app token is set. Every request is acked at once (bad input is answered in the ack,
 * privately); the work and the messages follow.
 */
export function createSlackAdapter(options: {
  settings: SlackSettings;
  router: ChatRouter;
  notifier: ProgressNotifier;
  http: FastifyInstance;
  logger: Logger;
}): SlackAdapter {
  const { settings, router, notifier } = options;
  const logger = options.logger.child({ component: 'slack' });
  const clientOptions = settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {};
  const socket = !!settings.appToken;
  let receiver: FastifyReceiver | undefined;
  let app: App;
  if (socket) {
    app = new App({
      token: settings.botToken,
      appToken: settings.appToken,
      socketMode: true,
      convoStore: false,
      clientOptions,
      logLevel: LogLevel.ERROR,
    });
  } else {
    if (!settings.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required for Slack over HTTP');
    receiver = new FastifyReceiver({ signingSecret: settings.signingSecret, logger });
    // No conversation store: Slipway keeps no per-conversation state in Bolt, and the store's
    // middleware costs time on every request.
    app = new App({
      token: settings.botToken,
      receiver,
      convoStore: false,
      clientOptions,
      logLevel: LogLevel.ERROR,
    });
    receiver.register(options.http);
  }

  notifier.register({
    platform: 'slack',
    update: async (message, reply) => {
      await app.client.chat.update({
        channel: message.channel,
        ts: message.messageId,
        ...replyToBlocks(reply),
      });
    },
  });

  /** Posts a result where the request came from; ephemeral replies go through response_url. */
  const deliver = async (result: CommandResult, conversation: Conversation, respond: RespondFn) => {
    const rendered = replyToBlocks(result.reply);
    if (result.reply.ephemeral) {
      await respond({ response_type: 'ephemeral', replace_original: false, ...rendered });
      return;
    }
    try {
      const posted = await app.client.chat.postMessage({
        channel: conversation.channel,
        ...(conversation.thread ? { thread_ts: conversation.thread } : {}),
        ...rendered,
      });
      if (result.track && posted.ts) {
        await notifier.posted(result.track, {
          platform: 'slack',
          channel: conversation.channel,
          messageId: posted.ts,
        });
      }
    } catch (error) {
      // Not in the channel (a DM, a private channel): answer through the response URL instead.
      logger.warn(
        { err: error, channel: conversation.channel },
        'chat.postMessage failed; using response_url',
      );
      await respond({ response_type: 'in_channel', replace_original: false, ...rendered });
    }
  };

  app.command(/^\/(deploy|promote|slipway)$/, async ({ command, ack, respond }) => {
    const invocation = {
      user: {
        platform: 'slack',
        workspace: command.team_id,
        userId: command.user_id,
        displayName: command.user_name,
      } satisfies ChatUser,
      conversation: { channel: command.channel_id },
      command: command.command.replace(/^\//, ''),
      text: command.text ?? '',
    };
    const parsed = router.parse(invocation);
    if (!parsed.ok) {
      await ack(ephemeral(parsed.result.reply));
      return;
    }
    await ack();
    const result = await router.run(parsed.parsed, invocation);
    await deliver(result, invocation.conversation, respond);
  });

  app.action<BlockAction<ButtonAction>>(/^deployment\./, async ({ ack, body, action, respond }) => {
    await ack();
    if (!isActionId(action.action_id)) return;
    const channel = body.container?.channel_id ?? body.channel?.id ?? '';
    const messageTs = body.container?.message_ts ?? body.message?.ts;
    const message: PostedMessage | null =
      channel && messageTs ? { platform: 'slack', channel, messageId: String(messageTs) } : null;
    const result = await router.action({
      user: {
        platform: 'slack',
        workspace: body.team?.id ?? body.user.team_id ?? '',
        userId: body.user.id,
        displayName: body.user.name ?? body.user.username ?? body.user.id,
      },
      conversation: { channel },
      actionId: action.action_id,
      value: action.value ?? '',
      message,
    });
    if (result.replaceOriginal && message && !result.reply.ephemeral) {
      await app.client.chat.update({
        channel: message.channel,
        ts: message.messageId,
        ...replyToBlocks(result.reply),
      });
      if (result.track) await notifier.posted(result.track, message);
      return;
    }
    await deliver(result, { channel }, respond);
  });

  app.error(async (error) => {
    logger.error({ err: error }, 'slack handler error');
  });

  return {
    app,
    mode: socket ? 'socket' : 'http',
    start: async () => {
      // Over HTTP the fastify route is the receiver; nothing else to start.
      if (socket) await app.start();
    },
    stop: async () => {
      if (socket) await app.stop();
    },
  };
}

function ephemeral(reply: Reply) {
  return { response_type: 'ephemeral' as const, ...replyToBlocks(reply) };
}
