import { createHash, randomBytes } from 'node:crypto';
import type { Activity, TurnContext } from 'botbuilder';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type Action,
  type AdapterHealth,
  type ChatAdapter,
  type ChatHost,
  type ChatUser,
  type Command,
  type Conversation,
  decisionAskedBy,
  errorReply,
  type PostedMessage,
  type Reply,
  type Responder,
  replyToPlainText,
} from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import { commandText, referenceFrom, senderOf, tenantOf, userMentions } from './activity.js';
import { type AdaptiveCard, REFRESH_VERB, replyToTeamsCard } from './adaptive-card.js';
import { connectorFailure, TeamsBot, type TeamsReference, type TurnOutcome } from './bot.js';
import { teamsManifest } from './manifest.js';
import { TeamsPeople } from './people.js';
import { resolveTeamsSettings, type TeamsConfig, type TeamsSettings } from './settings.js';

/** Teams retries an activity it got no answer to after 15 s: a retry inside this window runs once. */
const REPLAY_WINDOW_SECONDS = 900;
/** How long a click's answer may wait for the command; then the card says it is being worked on. */
const INVOKE_BUDGET_MS = 4_000;
/** How often the bot's credentials are checked again while they fail. */
const RECHECK_MS = 60_000;

type InvokeBody =
  | { statusCode: 200; type: 'application/vnd.microsoft.card.adaptive'; value: AdaptiveCard }
  | { statusCode: 200; type: 'application/vnd.microsoft.activity.message'; value: string }
  | { statusCode: 400; type: 'application/vnd.microsoft.error'; value: { code: string; message: string } };

const message = (text: string): InvokeBody => ({
  statusCode: 200,
  type: 'application/vnd.microsoft.activity.message',
  value: text,
});

/**
 * Microsoft Teams through botbuilder (every botbuilder import stays in this folder, so a move to
 * the Microsoft 365 Agents SDK touches it alone). `POST /api/messages` takes the Bot Framework's
 * activities: messages (`deploy api staging`, `@Slipway promote api staging production`, in a
 * personal chat, a group chat or a channel) go through the router; card buttons are Universal
 * Actions (`adaptiveCard/action` invokes), whose answer is the card as it now stands, so it
 * changes in place. Deployment cards are kept current through the conversation reference stored
 * with them; approvers alone get the Approve / Reject buttons, through the card's refresh.userIds.
 * Messages are acked at once and worked on after the answer; a click is answered as soon as its
 * command has decided, without waiting for the Bot Connector.
 */
export class TeamsChatAdapter implements ChatAdapter {
  readonly platform = 'teams' as const;
  readonly settings: TeamsSettings;
  readonly bot: TeamsBot;
  private readonly logger: Logger;
  private readonly people: TeamsPeople;
  private host: ChatHost | undefined;
  private commandNames = new Set<string>();
  private standing: AdapterHealth = { status: 'starting', since: new Date() };
  private recheck: NodeJS.Timeout | undefined;
  /** Mention tokens of the commands running now → the person each names. */
  private readonly mentions = new Map<string, ChatUser>();
  /** Conversations heard from, by id (where `post` finds a conversation's service URL). */
  private readonly conversations = new Map<string, TeamsReference>();
  /** The card each message last showed (by conversation and message id), as sent from this process. */
  private readonly lastShown = new Map<string, string>();
  /** Work running after its activity was answered (awaited, for a while, at shutdown). */
  private readonly background = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(config: TeamsConfig, logger: Logger) {
    this.logger = logger.child({ component: 'teams' });
    this.settings = resolveTeamsSettings(config);
    this.bot = new TeamsBot(this.settings, this.logger);
    this.people = new TeamsPeople(this.bot, this.logger);
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    this.host = host;
    this.commandNames = new Set(host.commands.map((command) => command.name));
    http.post('/api/messages', (request, reply) => this.receive(request, reply));
  }

  /** The credentials are checked off the request path: a failing token endpoint delays nothing. */
  async start(): Promise<void> {
    void this.checkCredentials();
    this.logger.info({ appType: this.settings.appType }, 'Teams adapter ready');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.recheck) clearTimeout(this.recheck);
    this.bot.close();
    await Promise.race([
      Promise.allSettled([...this.background]),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
  }

  render(reply: Reply): AdaptiveCard {
    return replyToTeamsCard(reply, { decide: false });
  }

  async post(conversation: Conversation, reply: Reply): Promise<PostedMessage | null> {
    return this.postCard(this.referenceFor(conversation.channel), reply);
  }

  async update(posted: PostedMessage, reply: Reply): Promise<void> {
    const target = storedReference(posted.reference) ?? this.referenceFor(posted.channel);
    const card = await this.cardFor(target, reply, null, true);
    // The same card again (a refused click, a step that changed nothing shown) is not sent:
    // Teams allows a thread a few updates a second.
    const key = `${target.conversationId}|${posted.messageId}`;
    const shown = fingerprint(card);
    if (this.lastShown.get(key) === shown) return;
    await this.bot.update(target, posted.messageId, cardActivity(card, reply));
    if (this.lastShown.size > 5_000) this.lastShown.clear();
    this.lastShown.set(key, shown);
  }

  /** A mention, as the adapter rewrote it into the command's text; anything else is no mention. */
  mention(_invoker: ChatUser, token: string): ChatUser | null {
    return this.mentions.get(token) ?? null;
  }

  /** Commands are typed to the bot as they are: `deploy api staging`. */
  spell(command: string): string {
    return command;
  }

  health(): AdapterHealth {
    return this.standing;
  }

  registration(commands: readonly Command[], publicUrl: string) {
    return teamsManifest({ appId: this.settings.appId, commands, publicUrl });
  }

  // ── inbound ──────────────────────────────────────────────────────────────────────────────

  private async receive(request: FastifyRequest, reply: FastifyReply) {
    const body = request.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return reply
        .code(400)
        .send({ error: 'bad_request', message: 'A Bot Framework activity (JSON) is expected.' });
    }
    let foreignTenant = false;
    const outcome = await this.bot
      .process(request.headers, body as Record<string, unknown>, async (context) => {
        if (!this.tenantAllowed(context.activity)) {
          foreignTenant = true;
          return;
        }
        await this.turn(context);
      })
      .catch((error: unknown): TurnOutcome => {
        this.logger.error({ err: error }, 'Teams activity failed');
        return { ran: true, status: 500 };
      });
    if (!outcome.ran) {
      if (outcome.status === 400) {
        return reply
          .code(400)
          .send({ error: 'bad_request', message: 'That is not a Bot Framework activity.' });
      }
      // botbuilder refused the token (missing, forged, expired, another audience or issuer): its
      // own status is 401 or, for errors that are not its own, 500; either way nothing ran.
      this.logger.warn(
        { ip: request.ip, reason: String(outcome.body ?? '').slice(0, 200) },
        'Teams activity refused: its Bot Framework token is not valid',
      );
      return reply
        .code(401)
        .send({ error: 'unauthorized', message: 'The Bot Framework token is missing or not valid.' });
    }
    if (foreignTenant) {
      this.logger.warn(
        { tenant: tenantOf(body as Partial<Activity>) },
        'Teams activity from another tenant refused',
      );
      return reply.code(401).send({ error: 'unauthorized', message: 'This bot serves another tenant.' });
    }
    reply.code(outcome.status);
    if (outcome.body === undefined) return reply.send();
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(outcome.body));
  }

  /** A single-tenant bot (or a managed identity) takes activities from its own tenant only. */
  private tenantAllowed(activity: Partial<Activity>): boolean {
    if (this.settings.appType === 'MultiTenant') return true;
    return tenantOf(activity) === this.settings.tenantId;
  }

  private async turn(context: TurnContext): Promise<void> {
    const activity = context.activity;
    if (activity.channelId !== 'msteams') return;
    const target = referenceFrom(activity);
    const sender = senderOf(activity);
    if (target) this.remember(target);
    if (sender && activity.from?.id) {
      this.people.learn(sender.workspace, sender.userId, activity.from.id, sender.displayName);
    }
    if (activity.type === 'message') {
      await this.onMessage(activity, target, sender);
    } else if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      const body = await this.onAction(activity, target, sender);
      await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body } });
    }
  }

  /**
   * Acked at once: the replay ledger is asked now and awaited after the answer, before any work
   * (as on Slack and Discord), so PostgreSQL's round trip is never part of the ack. A retry that
   * the ledger knows does nothing; when the ledger cannot be reached, nothing is done and the
   * person is told so, to try again.
   */
  private async onMessage(activity: Activity, target: TeamsReference | null, sender: ChatUser | null) {
    if (!target) return;
    const seen = this.firstTime(activity);
    const tell = async (text: string) => {
      const why = errorReply(text);
      await this.bot.send(target, { ...cardActivity(this.render(why), why), replyToId: activity.id });
    };
    this.spawn(
      (async () => {
        let first: boolean;
        try {
          first = await seen;
        } catch (error) {
          this.logger.error({ err: error }, 'could not record a Teams message');
          return tell(
            'Slipway could not record this request (its database did not answer), so nothing was done. Try again.',
          );
        }
        if (!first) return;
        if (sender) return this.command(activity, target, sender);
        return tell('Slipway could not tell who you are: Teams sent no Microsoft Entra id.');
      })(),
    );
  }

  private async command(activity: Activity, target: TeamsReference, sender: ChatUser): Promise<void> {
    const host = this.requireHost();
    const responder = this.messageResponder(target, activity.id ?? '');
    const tokens: string[] = [];
    try {
      const named = new Map<string, ChatUser | null>();
      for (const mention of userMentions(activity)) {
        const teamsId = mention.mentioned.id;
        const objectId = (mention.mentioned as { aadObjectId?: string }).aadObjectId;
        try {
          const found = objectId
            ? { objectId, name: mention.mentioned.name ?? objectId }
            : await this.people.objectIdOf(target, teamsId);
          named.set(teamsId, found ? person(target.tenantId, found.objectId, found.name) : null);
        } catch {
          await responder.privately(
            errorReply(
              `Slipway could not look up ${mention.mentioned.name ?? 'that person'} in Teams just now; try again in a minute.`,
            ),
          );
          return;
        }
      }
      const text = commandText(activity, (mention) => {
        const token = `@mention-${randomBytes(9).toString('base64url')}`;
        const who = named.get(mention.mentioned.id);
        if (who) this.mentions.set(token, who);
        tokens.push(token);
        return token;
      });
      const invocation = {
        user: sender,
        conversation: { channel: target.conversationId },
        command: null,
        text,
      };
      const parsed = host.parse(invocation);
      if (!parsed.ok) {
        await responder.privately(parsed.result.reply);
        return;
      }
      await host.run(parsed.parsed, invocation, responder);
    } finally {
      for (const token of tokens) this.mentions.delete(token);
    }
  }

  /**
   * A card's Universal Action: a refresh (the card for this person: with the decision buttons
   * for an approver) or a button, whose command runs; the answer goes back in the invoke
   * response, never waiting for the Bot Connector.
   */
  private async onAction(
    activity: Activity,
    target: TeamsReference | null,
    sender: ChatUser | null,
  ): Promise<InvokeBody> {
    const value = activity.value as { action?: { verb?: unknown; data?: unknown } } | undefined;
    const verb = typeof value?.action?.verb === 'string' ? value.action.verb : '';
    const data = (value?.action?.data ?? {}) as Record<string, unknown>;
    if (!target || !sender)
      return message('Slipway could not tell who you are: Teams sent no Microsoft Entra id.');
    const clicked: PostedMessage | null = activity.replyToId
      ? {
          platform: 'teams',
          channel: target.conversationId,
          messageId: activity.replyToId,
          reference: flatten(target),
        }
      : null;
    if (verb === REFRESH_VERB) {
      if (!clicked) return message('There is nothing to refresh.');
      const reply = await this.shownCard(String(data.deployment ?? ''), clicked);
      if (!reply) return message('That card is not one of Slipway’s deployment cards.');
      return card(await this.cardFor(target, reply, { user: sender, teamsId: activity.from.id }, false));
    }
    if (!this.commandNames.has(verb)) {
      return {
        statusCode: 400,
        type: 'application/vnd.microsoft.error',
        value: { code: 'BadRequest', message: 'Slipway does not know that button.' },
      };
    }
    if (!(await this.firstTime(activity))) return message('That click was already handled.');
    return this.click(
      {
        user: sender,
        conversation: { channel: target.conversationId },
        actionId: verb,
        value: typeof data.value === 'string' ? data.value : '',
        message: clicked,
      },
      target,
      activity.from.id,
    );
  }

  /**
   * The deployment's card as it stands, if `clicked` shows it. Teams refreshes a card as soon as
   * it appears, which can be before the message is stored: a miss is asked again, briefly.
   */
  private async shownCard(deploymentId: string, clicked: PostedMessage): Promise<Reply | null> {
    for (let attempt = 0; ; attempt++) {
      const reply = await this.requireHost().deploymentReply(deploymentId, clicked);
      if (reply || attempt >= 4) return reply;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Runs the button's command; answers with whatever it says first (the new card, a refusal). */
  private async click(action: Action, target: TeamsReference, teamsId: string): Promise<InvokeBody> {
    const host = this.requireHost();
    let answer: InvokeBody | undefined;
    let answered: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const settle = (body: InvokeBody) => {
      answer ??= body;
      answered();
    };
    const responder: Responder = {
      privately: async (reply) => {
        settle(message(replyToPlainText(reply)));
        return null;
      },
      post: async (reply) => {
        // A new message (a rollback's card): the clicker hears at once, the card follows.
        settle(message(replyToPlainText({ ...reply, fields: [], code: undefined })));
        return this.postCard(target, reply);
      },
      ...(action.message
        ? {
            replace: async (reply: Reply) => {
              settle(card(await this.cardFor(target, reply, { user: action.user, teamsId }, false)));
              return action.message;
            },
          }
        : {}),
    };
    this.spawn(host.click(action, responder).finally(() => settle(message('Done.'))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, new Promise((resolve) => (timer = setTimeout(resolve, INVOKE_BUDGET_MS)))]);
    clearTimeout(timer);
    return answer ?? message('Slipway is still working on that; the card will show it.');
  }

  // ── outbound ─────────────────────────────────────────────────────────────────────────────

  private messageResponder(target: TeamsReference, activityId: string): Responder {
    return {
      // Teams has no messages only one person sees: a private answer is a reply to what they typed.
      privately: async (reply) => {
        await this.bot.send(target, { ...cardActivity(this.render(reply), reply), replyToId: activityId });
        return null;
      },
      post: (reply) => this.postCard(target, reply),
    };
  }

  private async postCard(target: TeamsReference, reply: Reply): Promise<PostedMessage> {
    const card = await this.cardFor(target, reply, null, true);
    const id = await this.bot.send(target, cardActivity(card, reply));
    this.lastShown.set(`${target.conversationId}|${id}`, fingerprint(card));
    return { platform: 'teams', channel: target.conversationId, messageId: id, reference: flatten(target) };
  }

  /**
   * The card for everyone (viewer null: no decision buttons, refreshed for the approvers) or for
   * one person (decision buttons when they may still decide). `lookUp`: ask the roster for
   * approvers' Teams ids not known yet (background work only; answers use what is known).
   */
  private async cardFor(
    target: TeamsReference,
    reply: Reply,
    viewer: { user: ChatUser; teamsId: string } | null,
    lookUp: boolean,
  ): Promise<AdaptiveCard> {
    const deploymentId = decisionAskedBy(reply);
    if (!deploymentId) return replyToTeamsCard(reply, { decide: false });
    const approvers = (await this.requireHost().approvers(deploymentId, 'teams')).filter(
      (approver) => approver.workspace === target.tenantId,
    );
    const decide = !!viewer && approvers.some((approver) => approver.userId === viewer.user.userId);
    const userIds = lookUp ? await this.people.teamsIds(target, approvers) : this.people.known(approvers);
    if (decide && viewer && !userIds.includes(viewer.teamsId)) userIds.push(viewer.teamsId);
    return replyToTeamsCard(reply, { decide, refresh: { deploymentId, userIds } });
  }

  private referenceFor(conversationId: string): TeamsReference {
    return (
      this.conversations.get(conversationId) ?? {
        serviceUrl: this.settings.serviceUrl,
        conversationId,
        tenantId: this.settings.tenantId ?? '',
        botId: `28:${this.settings.appId}`,
      }
    );
  }

  private remember(target: TeamsReference): void {
    if (this.conversations.size > 5_000) this.conversations.clear();
    this.conversations.set(target.conversationId, target);
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────

  /** Teams retries an activity it got no answer to: the retry finds its key and does nothing. */
  private firstTime(activity: Activity): Promise<boolean> {
    const conversation = createHash('sha256')
      .update(activity.conversation?.id ?? '')
      .digest('base64url')
      .slice(0, 16);
    return this.requireHost().firstTime(`teams:${activity.id}:${conversation}`, REPLAY_WINDOW_SECONDS);
  }

  /** Work that goes on after the answer: its failure is logged, never thrown at the process. */
  private spawn(work: Promise<unknown>): void {
    const tracked = work
      .catch((error: unknown) => {
        const failure = connectorFailure(error);
        this.logger.error({ err: error, status: failure.status }, 'Teams work after the answer failed');
      })
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private async checkCredentials(): Promise<void> {
    try {
      await this.bot.checkCredentials();
      this.standing = { status: 'up', since: new Date() };
    } catch (error) {
      const detail = `the bot's credentials were not accepted: ${(error as Error).message}`.slice(0, 300);
      if (this.standing.status !== 'down' || this.standing.detail !== detail) {
        this.standing = { status: 'down', detail, since: new Date() };
      }
      this.logger.error({ detail }, 'Teams bot credentials check failed');
      if (!this.stopped) {
        this.recheck = setTimeout(() => void this.checkCredentials(), RECHECK_MS);
        this.recheck.unref();
      }
    }
  }

  private requireHost(): ChatHost {
    if (!this.host) throw new Error('the Teams adapter is not mounted');
    return this.host;
  }
}

const card = (value: AdaptiveCard): InvokeBody => ({
  statusCode: 200,
  type: 'application/vnd.microsoft.card.adaptive',
  value,
});

const fingerprint = (card: AdaptiveCard) =>
  createHash('sha256').update(JSON.stringify(card)).digest('base64url');

const person = (tenant: string, objectId: string, name: string): ChatUser => ({
  platform: 'teams',
  workspace: tenant,
  userId: objectId,
  displayName: name,
});

/** A card as a message activity; its summary is what Teams shows in notifications and previews. */
function cardActivity(card: AdaptiveCard, reply: Pick<Reply, 'text'> & Partial<Reply>): Partial<Activity> {
  const summary = [reply.title, reply.text].filter(Boolean).join(': ').slice(0, 200);
  return {
    type: 'message',
    ...(summary ? { summary } : {}),
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }],
  };
}

/** A reference as stored with a message (strings only). */
function flatten(target: TeamsReference): Record<string, string> {
  return Object.fromEntries(Object.entries(target).filter(([, value]) => typeof value === 'string'));
}

function storedReference(stored: Record<string, string> | undefined): TeamsReference | null {
  if (!stored?.serviceUrl || !stored.conversationId) return null;
  return {
    serviceUrl: stored.serviceUrl,
    conversationId: stored.conversationId,
    tenantId: stored.tenantId ?? '',
    ...(stored.teamId ? { teamId: stored.teamId } : {}),
    ...(stored.conversationType ? { conversationType: stored.conversationType } : {}),
    ...(stored.botId ? { botId: stored.botId } : {}),
  };
}
