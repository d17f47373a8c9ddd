import {
  type FetchLike,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
  notificationReply,
  type OutgoingNotification,
  sendJson,
} from '../../src/chat/index.js';
import { replyToAdaptiveCard, replyToTeamsCard } from './adaptive-card.js';
import { connectorFailure, type TeamsBot, type TeamsReference } from './bot.js';

/**
 * Notifications to Microsoft Teams: to an incoming webhook (a connector or a Workflows URL), as
 * an Adaptive Card — webhooks cannot edit a message or take clicks, so each notification is a new
 * card without buttons — or, with the bot configured, to a channel id (`19:…@thread.tacv2`)
 * through the Bot Connector: a new post, then the same card updated in place by the later
 * notifications about the same deployment.
 */
export function createTeamsNotificationSender(options: {
  /** The outbound guard's fetch: incoming-webhook URLs are users' URLs. */
  fetch: FetchLike;
  bot?: TeamsBot | undefined;
}): NotificationSender {
  const bot = options.bot;

  const toWebhook = async (notification: OutgoingNotification, url: string): Promise<NotificationSent> => {
    const card = replyToAdaptiveCard(notificationReply(notification.event), { actions: false });
    const payload = {
      type: 'message',
      attachments: [
        { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
      ],
    };
    const response = await sendJson(
      url,
      { body: JSON.stringify(payload), signal: notification.signal, fetch: options.fetch },
      'Teams webhook',
    );
    // Office 365 connectors answer 200 even when Teams refused the card, with the reason as text.
    const text = (await response.text().catch(() => '')).trim();
    // Our words, not the remote's text: a stored error never carries the body.
    if (/HTTP error 429/i.test(text)) {
      throw new NotificationSendError('rate_limited', 'Teams webhook: rate limited (HTTP 429 in the body)', {
        retryAfterMs: 2000,
      });
    }
    if (/failed|error/i.test(text) && text !== '1') {
      throw new NotificationSendError(
        'retryable',
        `Teams webhook answered HTTP ${response.status} but refused the card`,
        { status: response.status },
      );
    }
    return { message: null };
  };

  const toChannel = async (
    notification: OutgoingNotification,
    teams: TeamsBot,
    channel: string,
  ): Promise<NotificationSent> => {
    const reply = notificationReply(notification.event);
    const activity = {
      type: 'message' as const,
      summary: [reply.title, reply.text].filter(Boolean).join(': ').slice(0, 200),
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: replyToTeamsCard(reply, { decide: false }),
        },
      ],
    };
    const target: TeamsReference = {
      serviceUrl: teams.settings.serviceUrl,
      conversationId: notification.previous?.channel ?? channel,
      tenantId: teams.settings.tenantId ?? '',
      conversationType: 'channel',
      botId: `28:${teams.settings.appId}`,
    };
    try {
      if (notification.previous) {
        try {
          await abortable(
            teams.update(target, notification.previous.messageId, activity, 0),
            notification.signal,
          );
          return { message: notification.previous };
        } catch (error) {
          // The post is gone (deleted): the notification is posted anew.
          if (connectorFailure(error).status !== 404) throw error;
        }
      }
      const id = await abortable(teams.send(target, activity, 0), notification.signal);
      return { message: { channel: target.conversationId, messageId: id } };
    } catch (error) {
      throw sendError(error);
    }
  };

  return {
    platform: 'teams',
    // Teams connectors: about 4 messages a second; the Bot Connector allows 7 a second per thread.
    paceMs: 250,
    targets: {
      webhook: true,
      channel: {
        pattern: /^19:[^\s;]+@thread\.(tacv2|skype|v2)$/,
        message: 'channel must be a Teams channel id like 19:…@thread.tacv2',
      },
    },
    canEdit: (target) => target.kind === 'channel',
    unavailable: (target) =>
      target.kind === 'channel' && !bot
        ? 'posting to a Teams channel needs the bot (TEAMS_APP_ID and its credentials); give a webhookUrl instead, or configure the bot'
        : null,
    async send(notification) {
      const target = notification.channel.target;
      if (target.kind === 'webhook') return toWebhook(notification, target.url);
      if (target.kind === 'channel' && bot) return toChannel(notification, bot, target.channel);
      throw new NotificationSendError(
        'permanent',
        'a Teams channel needs an incoming webhook URL or, with the bot, a channel id',
      );
    },
    close: () => bot?.close(),
  };
}

/** A Bot Connector failure as the delivery worker reads it (it retries with its own back-off). */
function sendError(error: unknown): NotificationSendError {
  if (error instanceof NotificationSendError) return error;
  const failure = connectorFailure(error);
  const detail =
    `Teams Bot Connector${failure.status ? ` answered HTTP ${failure.status}` : ''}: ${(error as Error).message}`.slice(
      0,
      300,
    );
  if (failure.status === 429) {
    return new NotificationSendError('rate_limited', detail, {
      status: 429,
      retryAfterMs: failure.retryAfterMs ?? 2000,
    });
  }
  if (failure.retryable || failure.status === undefined) {
    return new NotificationSendError('retryable', detail, failure.status ? { status: failure.status } : {});
  }
  return new NotificationSendError('permanent', detail, { status: failure.status });
}

/** The worker's time limit applies to a call botbuilder cannot be handed a signal for. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted)
    return Promise.reject(new NotificationSendError('retryable', 'Teams Bot Connector: timed out'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new NotificationSendError('retryable', 'Teams Bot Connector: timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
