import { App, type BlockAction, type ButtonAction, LogLevel, type RespondFn } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type {
  AdapterHealth,
  ChatAdapter,
  ChatHost,
  ChatUser,
  Command,
  Conversation,
  PostedMessage,
  Reply,
  Responder,
} from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import { replyToBlocks } from './blocks.js';
import { slackManifest } from './manifest.js';
import { readSlackMention } from './mention.js';
import { FastifyReceiver } from './receiver.js';

export interface SlackSettings {
  botToken: string;
  signingSecret?: string | undefined;
  appToken?: string | undefined;
  /** Web API base, e.g. https://slack.com/api/ (GovSlack, a proxy, tests). */
  apiUrl?: string | undefined;
}

/** Slack's slash commands for the command files: their own for `slash` ones, and the umbrella. */
export function slashCommandNames(commands: readonly Command[]): string[] {
  return [...commands.filter((command) => command.slash).map((command) => command.name), 'slipway'];
}

/**
 * Slack through Bolt 5: the slash commands the command files ask for (`/deploy`, `/promote`)
 * and the umbrella `/slipway`, and the buttons on Slipway's messages. Over HTTP at
 * `/slack/events` on Slipway's server, or over Socket Mode when an app token is set. Every
 * request is acked at once (bad input is answered in the ack, privately); the work and the
 * messages follow.
 */
export class SlackChatAdapter implements ChatAdapter {
  readonly platform = 'slack' as const;
  readonly mode: 'http' | 'socket';
  private readonly logger: Logger;
  private app: App | undefined;
  private slash = new Set<string>();
  private standing: AdapterHealth = { status: 'starting', since: new Date() };

  constructor(
    private readonly settings: SlackSettings,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'slack' });
    this.mode = settings.appToken ? 'socket' : 'http';
    if (this.mode === 'http' && !settings.signingSecret) {
      throw new Error('SLACK_SIGNING_SECRET is required for Slack over HTTP');
    }
  }

  /** The Bolt app (after mount). */
  get bolt(): App {
    if (!this.app) throw new Error('the Slack adapter is not mounted');
    return this.app;
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    const { settings } = this;
    const clientOptions = settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {};
    // No conversation store: Slipway keeps no per-conversation state in Bolt, and the store's
    // middleware costs time on every request.
    let app: App;
    if (this.mode === 'socket') {
      app = new App({
        token: settings.botToken,
        appToken: settings.appToken,
        socketMode: true,
        convoStore: false,
        clientOptions,
        logLevel: LogLevel.ERROR,
      });
    } else {
      const receiver = new FastifyReceiver({
        signingSecret: settings.signingSecret ?? '',
        logger: this.logger,
      });
      app = new App({
        token: settings.botToken,
        receiver,
        convoStore: false,
        clientOptions,
        logLevel: LogLevel.ERROR,
      });
      receiver.register(http);
    }
    this.app = app;

    this.slash = new Set(slashCommandNames(host.commands));
    const slash = new RegExp(`^/(${[...this.slash].join('|')})$`);
    app.command(slash, async ({ command, ack, respond }) => {
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
      const parsed = host.parse(invocation);
      if (!parsed.ok) {
        await ack({ response_type: 'ephemeral', ...replyToBlocks(parsed.result.reply) });
        return;
      }
      await ack();
      await host.run(parsed.parsed, invocation, this.responder(invocation.conversation, respond, null));
    });

    const commandNames = new Set(host.commands.map((command) => command.name));
    app.action<BlockAction<ButtonAction>>(
      { type: 'block_actions', action_id: /^[a-z][a-z-]*$/ },
      async ({ ack, body, action, respond }) => {
        await ack();
        if (!commandNames.has(action.action_id)) return;
        const channel = body.container?.channel_id ?? body.channel?.id ?? '';
        const messageTs = body.container?.message_ts ?? body.message?.ts;
        const message: PostedMessage | null =
          channel && messageTs ? { platform: 'slack', channel, messageId: String(messageTs) } : null;
        await host.click(
          {
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
          },
          this.responder({ channel }, respond, message),
        );
      },
    );

    app.error(async (error) => {
      this.logger.error({ err: error }, 'slack handler error');
    });
  }

  async start(): Promise<void> {
    // Over HTTP the fastify route is the receiver; nothing else to start.
    if (this.mode === 'socket') await this.bolt.start();
    this.logger.info({ mode: this.mode }, 'Slack adapter ready');
  }

  async stop(): Promise<void> {
    if (this.mode === 'socket' && this.app) await this.app.stop();
  }

  render(reply: Reply) {
    return replyToBlocks(reply);
  }

  async post(conversation: Conversation, reply: Reply): Promise<PostedMessage | null> {
    const posted = await this.bolt.client.chat.postMessage({
      channel: conversation.channel,
      ...(conversation.thread ? { thread_ts: conversation.thread } : {}),
      ...replyToBlocks(reply),
    });
    return posted.ts ? { platform: 'slack', channel: conversation.channel, messageId: posted.ts } : null;
  }

  async update(message: PostedMessage, reply: Reply): Promise<void> {
    await this.bolt.client.chat.update({
      channel: message.channel,
      ts: message.messageId,
      ...replyToBlocks(reply),
    });
  }

  mention(invoker: ChatUser, token: string): ChatUser | null {
    return readSlackMention(invoker, token);
  }

  registration(commands: readonly Command[], publicUrl: string) {
    return slackManifest(commands, publicUrl, { socketMode: this.mode === 'socket' });
  }

  /** Slack has the slash commands the manifest registers; every other command goes through /slipway. */
  spell(command: string): string {
    return this.slash.has(command) ? `/${command}` : `/slipway ${command}`;
  }

  health(): AdapterHealth {
    return this.standing;
  }

  /** Private answers and the fallback when the bot cannot post go through the response URL. */
  private responder(
    conversation: Conversation,
    respond: RespondFn,
    clicked: PostedMessage | null,
  ): Responder {
    const rendered = (reply: Reply) => replyToBlocks(reply);
    return {
      privately: async (reply) => {
        await respond({ response_type: 'ephemeral', replace_original: false, ...rendered(reply) });
        return null;
      },
      post: async (reply) => {
        try {
          return await this.post(conversation, reply);
        } catch (error) {
          // Not in the channel (a DM, a private channel): answer through the response URL instead.
          this.logger.warn(
            { err: error, channel: conversation.channel },
            'chat.postMessage failed; using response_url',
          );
          await respond({ response_type: 'in_channel', replace_original: false, ...rendered(reply) });
          return null;
        }
      },
      ...(clicked
        ? {
            replace: async (reply: Reply) => {
              await this.update(clicked, reply);
              return clicked;
            },
          }
        : {}),
    };
  }
}
