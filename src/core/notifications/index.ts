export { emitDeploymentNotice } from './deployment-notifications.js';
export type { NotificationChannelInput, NotificationChannelView } from './notification-channel-service.js';
export {
  NotificationChannelService,
  notificationChannelInputSchema,
  notificationChannelPatchSchema,
} from './notification-channel-service.js';
export type { DeliveryPolicy } from './notification-delivery-policy.js';
export { backoffMs } from './notification-delivery-policy.js';
export { NotificationDeliveryWorker } from './notification-delivery-worker.js';
export type {
  DeploymentSnapshot,
  HeartbeatNoticeData,
  LockNoticeData,
  NewNotice,
  NoticeEvent,
} from './notification-events.js';
export { NotificationLiveness } from './notification-liveness.js';
export type { NoticeEmitter } from './notification-outbox.js';
export { NotificationOutbox, SILENT_NOTICES } from './notification-outbox.js';
export type { ChannelTarget, NoticeSender, NoticeSent, OutgoingNotice } from './notification-sender.js';
export {
  failureFromError,
  failureFromResponse,
  NoticeSendError,
  parseRetryAfter,
  sendJson,
} from './notification-sender.js';
