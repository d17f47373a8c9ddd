import type {
  DeploymentPlan,
  HookAction,
  HookTiming,
  PlanHook,
  PlanServer,
  StepAction,
  StepInfo,
} from './plan.js';

/** A step to render into a script; hooks carry their definition along. */
export interface PlannedStep extends StepInfo {
  hook: PlanHook | null;
}

export interface ServerStepPlan {
  /** Everything before the barrier: clone, link, install, and the hooks around them and before activate. */
  prepare: PlannedStep[];
  /** The symlink swap and the after-activate hooks. */
  activate: PlannedStep[];
  purge: PlannedStep[];
}

const ACTION_NAMES: Record<Exclude<StepAction, 'hook'>, string> = {
  connect: 'Connect',
  clone: 'Clone new release',
  link: 'Link shared folders and environment file',
  install: 'Install dependencies',
  activate: 'Activate new release',
  purge: 'Purge old releases',
  cleanup: 'Remove unfinished release',
  revert: 'Switch back to previous release',
  rollback: 'Roll back',
};

export function actionStep(action: Exclude<StepAction, 'hook'>): PlannedStep {
  return { key: action, name: ACTION_NAMES[action], action, hookId: null, timing: null, hook: null };
}

function hookStep(hook: PlanHook): PlannedStep {
  return {
    key: `hook:${hook.id}`,
    name: `Hook ${JSON.stringify(hook.name)} (${hook.timing} ${hook.action})`,
    action: 'hook',
    hookId: hook.id,
    timing: hook.timing,
    hook,
  };
}

/** The hooks that run on `server` at one point, in their order (id breaks ties, so runs are repeatable). */
export function hooksAt(
  hooks: PlanHook[],
  server: PlanServer,
  action: HookAction,
  timing: HookTiming,
): PlannedStep[] {
  return hooks
    .filter((hook) => hook.action === action && hook.timing === timing)
    .filter((hook) => hook.serverIds === null || hook.serverIds.includes(server.id))
    .sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
    .map(hookStep);
}

export function needsLinkStep(plan: DeploymentPlan): boolean {
  return plan.linkedFolders.length > 0 || (plan.envFile !== undefined && plan.envFile !== null);
}

/** Every step a deployment runs on one server, grouped by the round trip that runs it. */
export function planServerSteps(plan: DeploymentPlan, server: PlanServer): ServerStepPlan {
  const at = (action: HookAction, timing: HookTiming) => hooksAt(plan.hooks, server, action, timing);
  const prepare = [
    ...at('clone', 'before'),
    actionStep('clone'),
    ...(needsLinkStep(plan) ? [actionStep('link')] : []),
    ...at('clone', 'after'),
    ...at('install', 'before'),
    ...(plan.installCommand ? [actionStep('install')] : []),
    ...at('install', 'after'),
    ...at('activate', 'before'),
  ];
  return {
    prepare,
    activate: [actionStep('activate'), ...at('activate', 'after')],
    purge: [...at('purge', 'before'), actionStep('purge'), ...at('purge', 'after')],
  };
}

/** For the core: every step, in order, that a deployment will record for each server (connect first). */
export function planSteps(plan: DeploymentPlan): Map<string, StepInfo[]> {
  const result = new Map<string, StepInfo[]>();
  for (const server of plan.servers) {
    const steps = planServerSteps(plan, server);
    result.set(
      server.id,
      [actionStep('connect'), ...steps.prepare, ...steps.activate, ...steps.purge].map(toStepInfo),
    );
  }
  return result;
}

export function toStepInfo(step: PlannedStep): StepInfo {
  return { key: step.key, name: step.name, action: step.action, hookId: step.hookId, timing: step.timing };
}
