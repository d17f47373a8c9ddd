export { emitDeploymentNotification } from './deployment-notifications.js';
export type {
  NotificationChannelInput,
  NotificationChannelView,
  TargetFields,
  TargetIssue,
  TargetRulesByPlatform,
} from './notification-channel-service.js';
export {
  checkChannelTarget,
  NotificationChannelService,
  notificationChannelInputSchema,
  notificationChannelPatchSchema,
  targetRulesOf,
} from './notification-channel-service.js';
export type { DeliveryPolicy } from './notification-delivery-policy.js';
export { backoffMs } from './notification-delivery-policy.js';
export { NotificationDeliveryWorker } from './notification-delivery-worker.js';
export type {
  DeploymentSnapshot,
  HeartbeatNotificationData,
  LockNotificationData,
  NewNotification,
  Notification,
  PipelineExecutionSnapshot,
  PipelineNotificationData,
  PipelinePhaseSnapshot,
  PipelineStepSnapshot,
  PushRefusedData,
} from './notification-events.js';
export {
  DEFAULT_CHANNEL_EVENTS,
  NOTIFICATION_EVENT_TYPES,
  pipelineExecutionSubject,
} from './notification-events.js';
export { NotificationLiveness } from './notification-liveness.js';
export type { NotificationEmitter } from './notification-outbox.js';
export { NotificationOutbox, SILENT_NOTIFICATIONS } from './notification-outbox.js';
export type {
  ChannelTarget,
  ChannelTargetRules,
  NotificationSender,
  NotificationSent,
  OutgoingNotification,
} from './notification-sender.js';
export { failureFromError, NotificationSendError } from './notification-sender.js';
