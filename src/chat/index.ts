/**
 * Chat's face towards the adapters (adapters/): the neutral model, the ChatAdapter interface,
 * the renderings every platform shares, and the notification contract each platform's sender
 * implements. Adapters import this, the vocabulary, errors and the logger — never the core.
 */

// The notification contract is the core's (its delivery worker calls the senders); adapters
// reach it here.
export {
  type ChannelTarget,
  type ChannelTargetRules,
  failureFromError,
  type Notification,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
  type OutgoingNotification,
} from '../core/notifications/index.js';
export type { AdapterHealth, ChatAdapter, ChatHost, ConsoleSessions, Responder } from './adapter.js';
export type { Command } from './command.js';
export { displayUser } from './command.js';
export type {
  Action,
  ChatUser,
  CommandResult,
  Conversation,
  Invocation,
  PostedMessage,
  Reply,
  ReplyButton,
  ReplyField,
  ReplyStatus,
} from './model.js';
export {
  type FetchLike,
  failureFromResponse,
  parseRetryAfter,
  type RetryAfterFromBody,
  sendJson,
} from './notification-http.js';
export { notificationReply, notificationSummary } from './notifications.js';
export { executionReply } from './pipeline-replies.js';
export { replyToPlainText } from './plain-text.js';
export { DECISION_COMMANDS, decisionAskedBy, deploymentReply, errorReply } from './replies.js';
