import type { PipelineExecutionSnapshot, PipelineStepSnapshot } from '../core/notifications/index.js';
import type { PipelineStatus } from '../vocabulary.js';
import type { Reply, ReplyButton, ReplyStatus } from './model.js';
import { commitLine } from './replies.js';

const ICON: Record<string, string> = {
  new: '⚪',
  pending: '⏳',
  running: '🔄',
  ok: '✅',
  failed: '❌',
  skipped: '⏭',
};

const STATUS: Record<PipelineStatus, ReplyStatus> = {
  new: 'pending',
  pending: 'pending',
  running: 'running',
  ok: 'success',
  failed: 'error',
};

/** Who may confirm: a role, or the named people (by the name Slipway knows them by). */
export function confirmers(step: {
  role: string | null;
  users: { key: string; name: string | null }[];
}): string {
  if (step.users.length) {
    const names = step.users.map((u) => u.name ?? u.key);
    return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  }
  return `anyone with the ${step.role ?? 'approver'} role`;
}

function stepLine(step: PipelineStepSnapshot): string {
  const icon = ICON[step.status] ?? '';
  switch (step.type) {
    case 'deploy':
      return `${icon} deploy${step.deployment ? ` #${step.deployment.number} (${step.deployment.status.replace('_', ' ')})` : ''}`;
    case 'confirmation':
      return `${icon} confirmation by ${confirmers(step)}${step.decidedBy ? ` — ${step.status === 'ok' ? 'confirmed' : 'rejected'} by ${step.decidedBy}` : ''}`;
    case 'run-smoke':
      return `${icon} smoke \`${(step.command ?? '').slice(0, 60)}\``;
    default:
      return `${icon} webhook to ${step.host ?? '?'}`;
  }
}

/** The one message that shows a pipeline run, from its start to its end (edited in place). */
export function executionReply(e: PipelineExecutionSnapshot): Reply {
  const title = `Pipeline ${e.pipeline} #${e.runNumber} · ${e.project}`;
  const path = e.phases.map((p) => p.name).join(' → ');
  let text: string;
  const buttons: ReplyButton[] = [];
  switch (e.status) {
    case 'new':
      text = `Starting: ${path}.`;
      break;
    case 'ok':
      text = `Finished: ${e.commit.slice(0, 8)} went through ${path}.`;
      break;
    case 'failed':
      text = `Failed: ${e.failureReason ?? 'no reason recorded'}`;
      break;
    default: {
      if (e.waitingFor) {
        text = `Waiting at ${e.waitingFor.phase} for a confirmation by ${confirmers(e.waitingFor)} (not ${e.requestedBy}, who started it).`;
        buttons.push(
          { label: 'Confirm', actionId: 'pipeline', value: `confirm ${e.id}`, style: 'primary' },
          { label: 'Reject', actionId: 'pipeline', value: `reject ${e.id}`, style: 'danger' },
        );
        break;
      }
      const phase = e.phases.find((p) => p.status === 'running' || p.status === 'pending');
      const step = phase?.steps.find((s) => s.status === 'running' || s.status === 'pending');
      text =
        step?.type === 'deploy' && step.deployment?.status === 'awaiting_approval'
          ? `Waiting: deployment #${step.deployment.number} to ${phase!.name} awaits approval.`
          : `Running${phase ? ` at ${phase.name}${step ? `: ${stepLine(step).replace(/^\S+ /, '')}` : ''}` : ''}.`;
    }
  }
  if (e.forced) text += `\nForced by ${e.requestedBy}${e.forceReason ? `: ${e.forceReason}` : ''}.`;
  const failedStep = e.phases.flatMap((p) => p.steps).find((s) => s.status === 'failed');
  const reply: Reply = {
    title,
    text,
    status: STATUS[e.status],
    fields: [
      { label: 'Commit', value: commitLine(e.commit, e.commitMessage, e.commitAuthor) },
      { label: 'Ref', value: e.ref },
      { label: 'Started by', value: e.requestedBy },
      ...e.phases.map((phase) => ({
        label: `${ICON[phase.status] ?? ''} ${phase.name}`,
        value: phase.steps.map(stepLine).join('\n'),
      })),
    ],
    footer: `pipeline run ${e.id}`,
  };
  const tail = failedStep?.type === 'run-smoke' ? failedStep.detail : null;
  if (tail) reply.code = tail;
  if (buttons.length) reply.buttons = buttons;
  return reply;
}
