import { ApiToken } from './api-token.js';
import { Approval, ApprovalRequest } from './approval.js';
import { AuditEvent } from './audit-event.js';
import { CommitStatus } from './commit-status.js';
import { ConsoleSession, ConsoleSignInLink } from './console-session.js';
import { Deployment, DeploymentStep } from './deployment.js';
import { DeploymentMessage } from './deployment-message.js';
import { Environment } from './environment.js';
import { FreezeWindow } from './freeze-window.js';
import { Heartbeat } from './heartbeat.js';
import { Hook } from './hook.js';
import { InboundRequest } from './inbound-request.js';
import { Lock } from './lock.js';
import { ChatIdentity, Member, ProjectRole } from './member.js';
import { NotificationChannel } from './notification-channel.js';
import { NotificationDelivery, NotificationEvent, NotificationMessage } from './notification-outbox.js';
import { PendingCommit } from './pending-commit.js';
import {
  Pipeline,
  PipelineExecution,
  PipelineExecutionStep,
  PipelineStage,
  PipelineStep,
} from './pipeline.js';
import { LinkedFolder, Project } from './project.js';
import { Server } from './server.js';

export * from './api-token.js';
export * from './approval.js';
export * from './audit-event.js';
export * from './commit-status.js';
export * from './console-session.js';
export * from './deployment.js';
export * from './deployment-message.js';
export * from './environment.js';
export * from './freeze-window.js';
export * from './heartbeat.js';
export * from './hook.js';
export * from './inbound-request.js';
export * from './lock.js';
export * from './member.js';
export * from './notification-channel.js';
export * from './notification-outbox.js';
export * from './pending-commit.js';
export * from './pipeline.js';
export * from './project.js';
export * from './server.js';

export const ENTITIES = [
  Project,
  LinkedFolder,
  Server,
  Environment,
  Hook,
  Member,
  ChatIdentity,
  ProjectRole,
  Deployment,
  DeploymentStep,
  ApprovalRequest,
  Approval,
  Lock,
  Heartbeat,
  NotificationChannel,
  NotificationEvent,
  NotificationDelivery,
  NotificationMessage,
  AuditEvent,
  Pipeline,
  PipelineStage,
  PipelineStep,
  PipelineExecution,
  PipelineExecutionStep,
  ApiToken,
  CommitStatus,
  DeploymentMessage,
  InboundRequest,
  PendingCommit,
  ConsoleSignInLink,
  ConsoleSession,
  FreezeWindow,
];
