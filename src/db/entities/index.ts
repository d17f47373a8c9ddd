import { Approval, ApprovalRequest } from './approval.js';
import { AuditEvent } from './audit-event.js';
import { Deployment, DeploymentStep } from './deployment.js';
import { Environment } from './environment.js';
import { Heartbeat } from './heartbeat.js';
import { Hook } from './hook.js';
import { Lock } from './lock.js';
import { ChatIdentity, Member, ProjectRole } from './member.js';
import { NotificationChannel } from './notification-channel.js';
import { Pipeline, PipelineStage, PipelineStep } from './pipeline.js';
import { LinkedFolder, Project } from './project.js';
import { Server } from './server.js';

export * from './approval.js';
export * from './audit-event.js';
export * from './deployment.js';
export * from './enums.js';
export * from './environment.js';
export * from './heartbeat.js';
export * from './hook.js';
export * from './lock.js';
export * from './member.js';
export * from './notification-channel.js';
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
  AuditEvent,
  Pipeline,
  PipelineStage,
  PipelineStep,
];
