import type { DeploymentView, EnvironmentSummary } from '../core/deployments/index.js';
import type { Reply, ReplyButton, ReplyField, ReplyStatus } from './model.js';

const KIND_LABEL: Record<string, string> = { deploy: 'Deploy', promote: 'Promote', rollback: 'Rollback' };

export function utc(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

export function shortSha(commit: string | null): string {
  return commit ? commit.slice(0, 8) : '—';
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * The commands that decide an approval. Their buttons (value: the deployment's id) are meant for
 * the deployment's approvers only; a platform that can show a button to some people only
 * (Teams' per-person card views) shows them to those.
 */
export const DECISION_COMMANDS: ReadonlySet<string> = new Set(['approve', 'reject']);

/** The deployment a reply asks its approvers to decide on (its Approve / Reject buttons), or null. */
export function decisionAskedBy(reply: Reply): string | null {
  return reply.buttons?.find((button) => DECISION_COMMANDS.has(button.actionId))?.value ?? null;
}

/** A commit for people: its short sha, the message's first line and the author. */
export function commitLine(sha: string | null, message: string | null, author: string | null): string {
  const subject = message?.split('\n')[0]?.trim();
  if (!subject) return shortSha(sha);
  const text = subject.length > 100 ? `${subject.slice(0, 99)}…` : subject;
  return `${shortSha(sha)} ${text}${author ? ` — ${author}` : ''}`;
}

/**
 * What a deployment ships: the commits between what was live and what it deploys (the newest
 * ten, then "and N more"), or what it takes back when it goes to an older commit, and the git
 * host's compare page.
 */
export function changesFields(d: Pick<DeploymentView, 'changes' | 'environment'>): ReplyField[] {
  const c = d.changes;
  if (!c) return [];
  const plural = (n: number) => `${n} commit${n === 1 ? '' : 's'}`;
  const lines = c.commits.map((commit) => `• ${commitLine(commit.sha, commit.subject, commit.author)}`);
  let label: string;
  let head: string;
  if (c.base === null) {
    label = 'Ships';
    head = `the first release of ${d.environment}:`;
  } else if (c.total > 0) {
    label = 'Ships';
    head = `${plural(c.total)} since ${shortSha(c.base)}, live on ${d.environment}${c.behind ? ` (and drops ${plural(c.behind)} of it)` : ''}:`;
  } else if (c.behind > 0) {
    label = 'Takes back';
    head = `${plural(c.behind)} of ${shortSha(c.base)}, live on ${d.environment}:`;
  } else {
    return [{ label: 'Ships', value: `no new commits: ${shortSha(c.head)} is live on ${d.environment}.` }];
  }
  const shown = c.total > 0 || c.base === null ? c.total : c.behind;
  if (shown > c.commits.length) lines.push(`and ${shown - c.commits.length} more`);
  const fields: ReplyField[] = [{ label, value: [head, ...lines].join('\n') }];
  if (c.compareUrl) fields.push({ label: 'Compare', value: c.compareUrl });
  return fields;
}

/** The one message that shows a deployment, from approval to its end. */
export function deploymentReply(d: DeploymentView): Reply {
  const label = KIND_LABEL[d.kind] ?? d.kind;
  const title = `${label} #${d.number} · ${d.project} → ${d.environment}`;
  const fields: ReplyField[] = [
    {
      label: 'Ref',
      value: d.kind === 'promote' ? `${d.promotedFrom ?? '?'} @ ${shortSha(d.commit)}` : d.ref,
    },
    { label: 'Commit', value: commitLine(d.commit, d.commitMessage, d.commitAuthor) },
    { label: 'Requested by', value: d.requestedBy },
    ...changesFields(d),
  ];
  let status: ReplyStatus = 'info';
  let text = '';
  let code: string | undefined;
  const buttons: ReplyButton[] = [];
  switch (d.status) {
    case 'awaiting_approval': {
      const a = d.approval;
      status = 'pending';
      text = a
        ? `Waiting for approval: ${a.approvedBy.length}/${a.required} (${a.approverRole} role), expires ${utc(a.expiresAt)}.`
        : 'Waiting for approval.';
      buttons.push(
        { label: 'Approve', actionId: 'approve', value: d.id, style: 'primary' },
        { label: 'Reject', actionId: 'reject', value: d.id, style: 'danger' },
      );
      break;
    }
    case 'queued':
      status = 'pending';
      text = 'Queued.';
      buttons.push({ label: 'Cancel', actionId: 'cancel', value: d.id, style: 'danger' });
      break;
    case 'running': {
      status = 'running';
      const per = d.servers.map(
        (s) =>
          `${s.server}: step ${Math.min(s.done + 1, Math.max(s.total, 1))}/${s.total}${s.current ? ` (${s.current})` : ''}`,
      );
      text = d.cancelRequestedBy
        ? `Running; cancel asked by ${d.cancelRequestedBy}.`
        : `Running${per.length ? `: ${per.join(', ')}` : '…'}`;
      if (!d.cancelRequestedBy) {
        buttons.push({ label: 'Cancel', actionId: 'cancel', value: d.id, style: 'danger' });
      }
      break;
    }
    case 'finished':
      status = 'success';
      text = `Finished${d.durationMs !== null ? ` in ${formatDuration(d.durationMs)}` : ''}${d.releaseName ? `: release ${d.releaseName}` : ''}.`;
      // Only when something was live before this release: otherwise there is nothing to go back to.
      if (d.kind !== 'rollback' && d.previousRelease) {
        buttons.push({
          label: 'Rollback',
          actionId: 'rollback',
          value: `${d.project} ${d.environment}`,
          confirm: `Roll ${d.project} ${d.environment} back to the previous release?`,
        });
      }
      break;
    case 'failed': {
      status = 'error';
      const failed = d.servers.find((s) => s.failed);
      text = `Failed${failed?.failed ? ` at step "${failed.failed.name}" on ${failed.server}` : ''}: ${d.failureReason ?? 'no reason recorded'}`;
      code = failed?.failed?.outputTail ?? undefined;
      break;
    }
    case 'cancelled':
      status = 'warning';
      text = `Cancelled${d.cancelRequestedBy ? ` by ${d.cancelRequestedBy}` : ''}.${d.failureReason ? ` ${d.failureReason}` : ''}`;
      break;
    case 'rejected':
      status = 'error';
      text = `Rejected by ${d.approval?.rejectedBy.join(', ') || 'an approver'}; nothing was deployed.`;
      break;
    case 'expired':
      status = 'warning';
      text = 'The approval request expired; nothing was deployed.';
      break;
  }
  if (d.approval && (d.approval.approvedBy.length || d.approval.rejectedBy.length)) {
    if (d.approval.approvedBy.length)
      fields.push({ label: 'Approved by', value: d.approval.approvedBy.join(', ') });
    if (d.approval.rejectedBy.length)
      fields.push({ label: 'Rejected by', value: d.approval.rejectedBy.join(', ') });
  }
  if (d.forced) text += `\nForced by ${d.requestedBy}${d.forceReason ? `: ${d.forceReason}` : ''}.`;
  const reply: Reply = { title, text, status, fields, footer: `deployment ${d.id}` };
  if (code) reply.code = code;
  if (buttons.length) reply.buttons = buttons;
  return reply;
}

export function environmentLine(e: EnvironmentSummary): string {
  const parts = [
    `*${e.project}/${e.name}* (${e.tier})`,
    `live ${shortSha(e.liveCommit)}`,
    e.lastDeploy
      ? `last #${e.lastDeploy.number} ${e.lastDeploy.status} by ${e.lastDeploy.by}`
      : 'never deployed',
  ];
  if (e.lock) parts.push(`🔒 ${e.lock.holder}${e.lock.reason ? `: ${e.lock.reason}` : ''}`);
  if (e.freeze?.active) parts.push(`❄ frozen until ${utc(e.freeze.active.until)}`);
  if (e.pendingApprovals) parts.push(`${e.pendingApprovals} awaiting approval`);
  return parts.join(' · ');
}

/** A refusal or a mistake, privately, with the usage lines as the platform spells them. */
export function errorReply(message: string, usage?: readonly string[]): Reply {
  return {
    text: message,
    status: 'error',
    ephemeral: true,
    ...(usage?.length ? { footer: `Usage: ${usage.join('  |  ')}` } : {}),
  };
}
