import type { EntityManager } from '@mikro-orm/postgresql';
import {
  ChatIdentity,
  type IPipelineExecutionStep,
  PipelineExecution,
  PipelineExecutionStep,
} from '../../db/entities/index.js';
import { SlipwayError } from '../../errors.js';
import type { PipelineStatus } from '../../vocabulary.js';
import type {
  PipelineExecutionSnapshot,
  PipelinePhaseSnapshot,
  PipelineStepSnapshot,
} from '../notifications/index.js';

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** A phase's status from its steps' (Escape's): failed, else ok when all are, else running, pending, new. */
export function phaseStatus(steps: readonly { status: string }[]): PipelineStatus {
  if (steps.some((s) => s.status === 'failed')) return 'failed';
  if (steps.every((s) => s.status === 'ok' || s.status === 'skipped') && steps.some((s) => s.status === 'ok'))
    return 'ok';
  if (steps.some((s) => s.status === 'running')) return 'running';
  if (steps.some((s) => s.status === 'pending')) return 'pending';
  if (steps.some((s) => s.status === 'ok')) return 'running';
  return 'new';
}

/** The host of a webhook URL: what people see (the path or query may carry a token). */
function hostOf(url: string | undefined): string | null {
  return url ? (URL.parse(url)?.host ?? null) : null;
}

/**
 * A run as cards, channels and the API show it, read on `em` (inside a transaction, it shows
 * the change being made): its phases with their statuses, each step with what it did.
 */
export async function executionSnapshot(
  em: EntityManager,
  executionId: string,
): Promise<PipelineExecutionSnapshot> {
  const execution = await em.findOne(
    PipelineExecution,
    { id: executionId },
    { populate: ['pipeline', 'project'], refresh: true },
  );
  if (!execution) throw new SlipwayError('not_found', `There is no pipeline run ${executionId}.`);
  const steps = await em.find(
    PipelineExecutionStep,
    { execution: execution.id },
    { populate: ['deployment'], orderBy: { phase: 'asc', position: 'asc' }, refresh: true },
  );
  const keys = [...new Set(steps.flatMap((step) => step.config.users ?? []))];
  const names = await namesOf(em, keys);
  const stepView = (step: IPipelineExecutionStep): PipelineStepSnapshot => ({
    id: step.id,
    type: step.kind,
    status: step.status,
    deployment: step.deployment
      ? {
          id: step.deployment.id,
          number: step.deployment.number,
          kind: step.deployment.kind,
          status: step.deployment.status,
        }
      : null,
    role: step.config.role ?? null,
    users: (step.config.users ?? []).map((key) => ({ key, name: names.get(key) ?? null })),
    decidedBy: step.decidedByName ?? null,
    command: step.config.command ?? null,
    host: hostOf(step.config.url),
    detail: step.detail ?? null,
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
  });
  const phases: PipelinePhaseSnapshot[] = [];
  for (const step of steps) {
    let phase = phases[step.phase];
    if (!phase) {
      phase = { name: step.environmentName, environment: step.environmentName, status: 'new', steps: [] };
      phases[step.phase] = phase;
    }
    phase.steps.push(stepView(step));
  }
  for (const phase of phases) phase.status = phaseStatus(phase.steps);
  const waiting = steps.find((step) => step.kind === 'confirmation' && step.status === 'pending');
  return {
    id: execution.id,
    runNumber: execution.runNumber,
    pipeline: execution.pipeline.name,
    project: execution.project.name,
    status: execution.status,
    ref: execution.ref,
    commit: execution.commitHash,
    commitMessage: execution.commitMessage ?? null,
    commitAuthor: execution.commitAuthor ?? null,
    requestedBy: execution.requestedByName,
    requestedById: execution.requestedBy?.id ?? null,
    source: execution.source,
    forced: execution.forced,
    forceReason: execution.forceReason ?? null,
    failureReason: execution.failureReason ?? null,
    createdAt: execution.createdAt.toISOString(),
    startedAt: iso(execution.startedAt),
    finishedAt: iso(execution.finishedAt),
    waitingFor: waiting
      ? {
          stepId: waiting.id,
          phase: waiting.environmentName,
          role: waiting.config.role ?? null,
          users: (waiting.config.users ?? []).map((key) => ({ key, name: names.get(key) ?? null })),
        }
      : null,
    phases: phases.filter(Boolean),
  };
}

/** The names people go by, for identities `platform:workspace:user` Slipway has met. */
async function namesOf(em: EntityManager, keys: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (!keys.length) return names;
  const wanted = keys.map((key) => {
    const [platform, workspace, userId] = key.split(':');
    return { platform, workspace, userId };
  });
  const rows = await em.find(
    ChatIdentity,
    {
      $or: wanted.map((w) => ({
        platform: w.platform as ChatIdentityPlatform,
        workspace: w.workspace,
        userId: w.userId,
      })),
    },
    { populate: ['member'] },
  );
  for (const row of rows) names.set(`${row.platform}:${row.workspace}:${row.userId}`, row.member.displayName);
  return names;
}

type ChatIdentityPlatform = 'slack' | 'discord' | 'teams' | 'web';
