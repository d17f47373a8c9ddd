import type { ConfigError } from './load.js';
import type { ApplyOutcome, Change, Plan } from './planner.js';

const SIGN: Record<Change['action'], string> = { create: '+', update: '~', replace: '±', delete: '-' };

/** The plan as `slipway apply` prints it: one line per change, its details indented below. */
export function formatPlan(plan: Plan): string {
  if (plan.changes.length === 0) return `${plan.file}: no changes; Slipway already matches it.\n`;
  const count = (action: Change['action']) => plan.changes.filter((c) => c.action === action).length;
  const summary = [
    count('create') && `${count('create')} to create`,
    count('update') && `${count('update')} to update`,
    count('replace') && `${count('replace')} to replace`,
    count('delete') && `${count('delete')} to delete`,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    `${plan.file}: ${plan.changes.length} change${plan.changes.length > 1 ? 's' : ''} (${summary})`,
  ];
  for (const change of plan.changes) {
    const target = change.kind === 'project' ? change.name : `${change.project}/${change.name}`;
    lines.push(
      `  ${SIGN[change.action]} ${change.kind} ${target}${change.action === 'replace' ? ' (replaced)' : ''}`,
    );
    for (const detail of change.details) lines.push(`      ${detail}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatErrors(file: string, errors: ConfigError[]): string {
  const lines = errors.map(
    (e) => `${file}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ''}${e.message}`,
  );
  return `${lines.join('\n')}\n${file}: ${errors.length} error${errors.length > 1 ? 's' : ''}; nothing was changed.\n`;
}

export function formatOutcome(plan: Plan, outcome: ApplyOutcome): string {
  if (!outcome.failed)
    return `Applied ${outcome.applied.length} change${outcome.applied.length === 1 ? '' : 's'}.\n`;
  const { change, error } = outcome.failed;
  const target = change.kind === 'project' ? change.name : `${change.project}/${change.name}`;
  return (
    `Applied ${outcome.applied.length} of ${plan.changes.length} changes; ` +
    `${change.action} ${change.kind} ${target} failed: ${error.message}\n` +
    'Fix the cause and apply again: what was applied stays, and the rest is planned again.\n'
  );
}
