import type { AccessPolicy, Actor, ChatIdentityRef, MemberRoleRow } from '../access/index.js';
import type { FreezeWindowInput, FreezeWindows } from '../deployments/index.js';
import type { NotificationChannelService, NotificationChannelView } from '../notifications/index.js';
import { type PipelineService, stageSteps, writtenStep } from '../pipelines/index.js';
import {
  type EnvironmentInput,
  type EnvironmentService,
  type EnvironmentView,
  githubRepositoryOf,
  type HookInput,
  type HookService,
  type HookView,
  maskRepositoryUrl,
  type ProjectService,
  type ServerInput,
  type ServerService,
  type ServerView,
} from '../projects/index.js';
import { REPORTING_CHANNEL } from '../repositories/index.js';
import type {
  ConfigFile,
  EnvironmentSpec,
  HookSpec,
  MemberSpec,
  ProjectSpec,
  ServerSpec,
} from './file-schema.js';
import { channelInput } from './load.js';

export interface ApplyServices {
  projects: ProjectService;
  servers: ServerService;
  environments: EnvironmentService;
  hooks: HookService;
  access: AccessPolicy;
  freezes: FreezeWindows;
  pipelines: PipelineService;
  /** Null where notifications are not wired; a file with notifications is then refused. */
  channels: NotificationChannelService | null;
}

export type ChangeKind =
  | 'project'
  | 'server'
  | 'environment'
  | 'hook'
  | 'linked folder'
  | 'member'
  | 'notification'
  | 'pipeline';

export interface Change {
  action: 'create' | 'update' | 'replace' | 'delete';
  kind: ChangeKind;
  project: string;
  name: string;
  /** For people: `tier: development → staging`. Secrets are never shown, only that they change. */
  details: string[];
  run(actor: Actor): Promise<void>;
}

export interface Plan {
  file: string;
  prune: boolean;
  changes: Change[];
}

export interface ApplyOutcome {
  applied: Change[];
  failed: { change: Change; error: Error } | null;
}

const LOCAL_HOST = 'localhost';
const LOCAL_USER = 'slipway';

/**
 * Compares a configuration file with what Slipway holds and lists the changes, each with the
 * core-service call that makes it. Nothing is deleted unless `prune` is set, and then only
 * within the lists the file has (a file without `hooks:` leaves hooks alone).
 */
export class ConfigPlanner {
  constructor(private readonly services: ApplyServices) {}

  async plan(config: ConfigFile, file: string, options: { prune?: boolean } = {}): Promise<Plan> {
    const prune = options.prune ?? false;
    const changes: Change[] = [];
    for (const project of config.projects) changes.push(...(await this.planProject(project, prune)));
    return { file, prune, changes };
  }

  async apply(plan: Plan, actor: Actor, onChange?: (change: Change) => void): Promise<ApplyOutcome> {
    const applied: Change[] = [];
    for (const change of plan.changes) {
      try {
        await change.run(actor);
      } catch (error) {
        return { applied, failed: { change, error: error as Error } };
      }
      applied.push(change);
      onChange?.(change);
    }
    return { applied, failed: null };
  }

  private async planProject(spec: ProjectSpec, prune: boolean): Promise<Change[]> {
    const { projects, servers, environments, hooks, access, channels, freezes, pipelines } = this.services;
    const name = spec.name;
    const record = await projects.record(name);
    const changes: Change[] = [];
    const later: Change[] = [];
    const change = (c: Omit<Change, 'project'>) => ({ ...c, project: name });
    // Left out: what the repository URL says (a github.com URL names it); null: none.
    const githubRepository =
      spec.github_repository === undefined
        ? githubRepositoryOf(spec.repository)
        : (spec.github_repository?.toLowerCase() ?? null);

    if (!record) {
      changes.push(
        change({
          action: 'create',
          kind: 'project',
          name,
          details: [
            `repository: ${maskRepositoryUrl(spec.repository)}`,
            `branch: ${spec.branch}`,
            ...(githubRepository ? [`github_repository: ${githubRepository}`] : []),
          ],
          run: async (actor) => {
            await projects.create(actor, {
              name,
              repository: spec.repository,
              provider: spec.provider,
              branch: spec.branch,
              releasesToKeep: spec.releases_to_keep,
              installCommand: spec.install_command,
              healthCheckUrl: spec.health_check_url,
              rollbackOnHealthFailure: spec.rollback_on_health_failure,
              pushToDeploy: spec.push_to_deploy,
              testGates: spec.test_gates,
              githubRepository,
            });
          },
        }),
      );
    } else {
      const diff = new Diff();
      diff.field(
        'repository',
        maskRepositoryUrl(record.repository),
        maskRepositoryUrl(spec.repository),
        record.repository !== spec.repository,
      );
      diff.field('provider', record.provider, spec.provider);
      diff.field('github_repository', record.githubRepository ?? null, githubRepository);
      diff.field('branch', record.defaultBranch, spec.branch);
      diff.field('push_to_deploy', record.pushToDeploy, spec.push_to_deploy);
      diff.field('releases_to_keep', record.releasesToKeep, spec.releases_to_keep);
      diff.field('install_command', record.installCommand ?? null, spec.install_command);
      diff.field('health_check_url', record.healthCheckUrl ?? null, spec.health_check_url);
      diff.field(
        'rollback_on_health_failure',
        record.rollbackOnHealthFailure,
        spec.rollback_on_health_failure,
      );
      diff.field('test_gates.staging', record.testGates.staging, spec.test_gates.staging);
      diff.field('test_gates.production', record.testGates.production, spec.test_gates.production);
      if (diff.changed) {
        changes.push(
          change({
            action: 'update',
            kind: 'project',
            name,
            details: diff.lines,
            run: async (actor) => {
              await projects.updateSource(actor, name, {
                provider: spec.provider,
                repository: spec.repository,
                branch: spec.branch,
                pushToDeploy: spec.push_to_deploy,
                githubRepository,
              });
              await projects.update(actor, name, {
                releasesToKeep: spec.releases_to_keep,
                installCommand: spec.install_command,
                healthCheckUrl: spec.health_check_url,
                rollbackOnHealthFailure: spec.rollback_on_health_failure,
              });
              await projects.setTestGates(actor, name, spec.test_gates);
            },
          }),
        );
      }
    }

    // Servers first: environments and hooks name them.
    if (spec.servers) {
      const current = record ? await servers.list(name) : [];
      for (const server of spec.servers) {
        const input = serverInput(server);
        const existing = current.find((s) => s.name === server.name);
        if (!existing) {
          changes.push(
            change({
              action: 'create',
              kind: 'server',
              name: server.name,
              details: [describeServer(input)],
              run: async (actor) => void (await servers.create(actor, name, input)),
            }),
          );
          continue;
        }
        const diff = serverDiff(existing, input);
        if (diff.changed) {
          changes.push(
            change({
              action: 'update',
              kind: 'server',
              name: server.name,
              details: diff.lines,
              run: async (actor) => void (await servers.update(actor, name, existing.id, input)),
            }),
          );
        }
      }
      if (prune) {
        for (const extra of current.filter((s) => !spec.servers?.some((w) => w.name === s.name))) {
          later.push(
            change({
              action: 'delete',
              kind: 'server',
              name: extra.name,
              details: [],
              run: async (actor) => servers.remove(actor, name, extra.id),
            }),
          );
        }
      }
    }

    if (spec.environments) {
      const current = record ? await environments.list(name) : [];
      for (const environment of spec.environments) {
        const input = environmentInput(environment, spec.branch);
        const existing = current.find((e) => e.name === environment.name);
        const wanted = environment.freeze_windows?.map(freezeInput);
        if (!existing) {
          const details = [
            `tier ${input.tier}, branch ${input.branch}, servers ${list(input.servers ?? [])}`,
          ];
          if (wanted?.length) details.push(`freeze windows: ${wanted.length}`);
          changes.push(
            change({
              action: 'create',
              kind: 'environment',
              name: environment.name,
              details,
              run: async (actor) => {
                await environments.create(actor, name, input);
                if (wanted?.length) await freezes.replace(actor, name, environment.name, wanted);
              },
            }),
          );
          continue;
        }
        const diff = environmentDiff(existing, input);
        // A freeze_windows list is managed as a whole: any difference replaces it.
        const held = wanted ? (await freezes.list(name, existing.id)).map(freezeInput) : [];
        const freezesDiffer = wanted !== undefined && !same(sortedWindows(held), sortedWindows(wanted));
        if (freezesDiffer) diff.lines.push(`freeze windows: ${held.length} → ${wanted!.length}`);
        if (diff.changed) {
          const { name: _name, ...patch } = input;
          changes.push(
            change({
              action: 'update',
              kind: 'environment',
              name: environment.name,
              details: diff.lines,
              run: async (actor) => {
                await environments.update(actor, name, existing.id, patch);
                if (freezesDiffer) await freezes.replace(actor, name, existing.id, wanted!);
              },
            }),
          );
        }
      }
      if (prune) {
        for (const extra of current.filter((e) => !spec.environments?.some((w) => w.name === e.name))) {
          later.unshift(
            change({
              action: 'delete',
              kind: 'environment',
              name: extra.name,
              details: extra.state === 'stopped' ? [] : ['stopped first'],
              run: async (actor) => {
                if (extra.state !== 'stopped') {
                  const { destroyed } = await environments.stop(actor, name, extra.id);
                  if (destroyed) return;
                }
                await environments.remove(actor, name, extra.id);
              },
            }),
          );
        }
      }
    }

    if (spec.pipelines) {
      const current = record ? await pipelines.list(name) : [];
      for (const pipeline of spec.pipelines) {
        const wanted = pipeline.stages.map((stage) => ({
          environment: stage.environment,
          steps: stageSteps(stage.steps ?? []).map(writtenStep),
        }));
        const existing = current.find((p) => p.name === pipeline.name);
        const save = (actor: Actor) =>
          pipelines.save(
            actor,
            name,
            pipeline.name,
            { stages: wanted },
            {
              signingSecret: pipeline.signing_secret ?? null,
              trusted: true,
            },
          );
        if (!existing) {
          later.push(
            change({
              action: 'create',
              kind: 'pipeline',
              name: pipeline.name,
              details: [wanted.map((stage) => stage.environment).join(' → ')],
              run: async (actor) => void (await save(actor)),
            }),
          );
          continue;
        }
        const held = existing.stages.map((stage) => ({
          environment: stage.environment,
          steps: stage.steps.map(writtenStep),
        }));
        const details: string[] = [];
        if (!same(held, wanted)) {
          const before = held.map((stage) => stage.environment).join(' → ');
          const after = wanted.map((stage) => stage.environment).join(' → ');
          const changedSteps = wanted
            .filter((stage, i) => !same(stage.steps, held[i]?.steps))
            .map((stage) => stage.environment);
          details.push(
            before === after ? `steps of ${changedSteps.join(', ')} changed` : `stages: ${before} → ${after}`,
          );
        }
        if (
          pipeline.signing_secret &&
          !(await pipelines.secretIs(name, pipeline.name, pipeline.signing_secret))
        ) {
          details.push('signing_secret changed');
        }
        if (details.length) {
          later.push(
            change({
              action: 'update',
              kind: 'pipeline',
              name: pipeline.name,
              details,
              run: async (actor) => void (await save(actor)),
            }),
          );
        }
      }
      if (prune) {
        for (const extra of current.filter((p) => !spec.pipelines?.some((w) => w.name === p.name))) {
          later.unshift(
            change({
              action: 'delete',
              kind: 'pipeline',
              name: extra.name,
              details: [],
              run: async (actor) => pipelines.remove(actor, name, extra.name),
            }),
          );
        }
      }
    }

    if (spec.hooks) {
      const current = record ? await hooks.list(name) : [];
      const matched = new Set<string>();
      for (const hook of spec.hooks) {
        const input = hookInput(hook);
        const existing = current.find((h) => h.name === hook.name && !matched.has(h.id));
        if (!existing) {
          changes.push(
            change({
              action: 'create',
              kind: 'hook',
              name: hook.name,
              details: [`${hook.timing} ${hook.action}`],
              run: async (actor) => void (await hooks.create(actor, name, input)),
            }),
          );
          continue;
        }
        matched.add(existing.id);
        const diff = hookDiff(existing, input);
        if (diff.changed) {
          changes.push(
            change({
              action: 'update',
              kind: 'hook',
              name: hook.name,
              details: diff.lines,
              run: async (actor) => void (await hooks.update(actor, name, existing.id, input)),
            }),
          );
        }
      }
      if (prune) {
        for (const extra of current.filter((h) => !matched.has(h.id))) {
          later.unshift(
            change({
              action: 'delete',
              kind: 'hook',
              name: extra.name,
              details: [],
              run: async (actor) => hooks.remove(actor, name, extra.id),
            }),
          );
        }
      }
    }

    if (spec.linked_folders) {
      const current = record ? await projects.folders(name) : [];
      for (const folder of spec.linked_folders) {
        const existing = current.find((f) => f.from === folder.from);
        if (existing && existing.to === folder.to) continue;
        changes.push(
          change({
            action: existing ? 'update' : 'create',
            kind: 'linked folder',
            name: folder.from,
            details: [existing ? `to: ${existing.to} → ${folder.to}` : `→ shared/${folder.to}`],
            run: async (actor) => {
              if (existing) await projects.removeFolder(actor, name, { from: folder.from });
              await projects.addFolder(actor, name, folder);
            },
          }),
        );
      }
      if (prune) {
        for (const extra of current.filter((f) => !spec.linked_folders?.some((w) => w.from === f.from))) {
          later.push(
            change({
              action: 'delete',
              kind: 'linked folder',
              name: extra.from,
              details: [],
              run: async (actor) => void (await projects.removeFolder(actor, name, { from: extra.from })),
            }),
          );
        }
      }
    }

    if (spec.members) {
      const current = record ? (await access.roles(name)).filter((row) => row.scope === 'project') : [];
      for (const member of spec.members) {
        const existing = current.find((row) => row.identities.includes(member.user));
        if (existing?.role === member.role) continue;
        changes.push(
          change({
            action: existing ? 'update' : 'create',
            kind: 'member',
            name: member.user,
            details: [existing ? `role: ${existing.role} → ${member.role}` : `role ${member.role}`],
            run: async (actor) => void (await access.assignRole(actor, name, identity(member), member.role)),
          }),
        );
      }
      if (prune) {
        for (const extra of current.filter(
          (row) => !spec.members?.some((m) => row.identities.includes(m.user)),
        )) {
          const key = extra.identities[0];
          if (!key) continue;
          later.push(
            change({
              action: 'delete',
              kind: 'member',
              name: key,
              details: [`role ${extra.role}`],
              run: async (actor) => void (await access.removeRole(actor, name, identityOf(key, extra))),
            }),
          );
        }
      }
    }

    if (spec.notifications) {
      if (!channels) throw new Error('Notification channels are not available in this Slipway.');
      const current: NotificationChannelView[] = record ? await channels.list(name) : [];
      for (const notification of spec.notifications) {
        const input = channelInput(notification);
        const existing = current.find((c) => c.name === notification.name);
        if (!existing) {
          changes.push(
            change({
              action: 'create',
              kind: 'notification',
              name: notification.name,
              details: [notification.type],
              run: async (actor) => void (await channels.create(actor, name, input)),
            }),
          );
          continue;
        }
        if (existing.type !== notification.type) {
          changes.push(
            change({
              action: 'replace',
              kind: 'notification',
              name: notification.name,
              details: [`type: ${existing.type} → ${notification.type}`],
              run: async (actor) => {
                await channels.remove(actor, name, existing.id);
                await channels.create(actor, name, input);
              },
            }),
          );
          continue;
        }
        const differing = await channels.differences(name, existing.id, input);
        if (differing.length) {
          const { type: _type, ...patch } = input;
          changes.push(
            change({
              action: 'update',
              kind: 'notification',
              name: notification.name,
              details: [`changed: ${differing.join(', ')}`],
              run: async (actor) => void (await channels.update(actor, name, existing.id, patch)),
            }),
          );
        }
      }
      if (prune) {
        // The GitHub reporting channel follows github_repository (Slipway keeps it): never pruned.
        const managed = (c: NotificationChannelView) => c.type === 'github' && c.name === REPORTING_CHANNEL;
        for (const extra of current.filter(
          (c) => !managed(c) && !spec.notifications?.some((n) => n.name === c.name),
        )) {
          later.push(
            change({
              action: 'delete',
              kind: 'notification',
              name: extra.name,
              details: [],
              run: async (actor) => void (await channels.remove(actor, name, extra.id)),
            }),
          );
        }
      }
    }
    // Deletions last, hooks and environments before the servers they use.
    return [...changes, ...sortDeletes(later)];
  }
}

const DELETE_ORDER: ChangeKind[] = [
  'pipeline',
  'hook',
  'environment',
  'server',
  'linked folder',
  'member',
  'notification',
];

/** Creations and updates among `later` (pipelines, which need their environments) go first, in order; then deletions. */
function sortDeletes(changes: Change[]): Change[] {
  const kept = changes.filter((c) => c.action !== 'delete');
  const deletes = changes.filter((c) => c.action === 'delete');
  return [...kept, ...deletes.sort((a, b) => DELETE_ORDER.indexOf(a.kind) - DELETE_ORDER.indexOf(b.kind))];
}

/** Differences of one resource, as lines for the plan. */
class Diff {
  readonly lines: string[] = [];

  get changed(): boolean {
    return this.lines.length > 0;
  }

  field(label: string, from: unknown, to: unknown, differs = !same(from, to)): void {
    if (differs) this.lines.push(`${label}: ${show(from)} → ${show(to)}`);
  }

  /** For values not worth printing (scripts). */
  flag(label: string, from: unknown, to: unknown): void {
    if (!same(from, to)) this.lines.push(`${label} changed`);
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(none)';
  if (Array.isArray(value)) return list(value.map(String));
  const text = String(value).replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function list(values: string[]): string {
  return values.length ? values.join(', ') : '(none)';
}

function serverInput(spec: ServerSpec): ServerInput {
  return {
    name: spec.name,
    host: spec.host ?? LOCAL_HOST,
    port: spec.port,
    connectAs: spec.user ?? LOCAL_USER,
    deployPath: spec.deploy_path,
    transport: spec.transport,
    receivesCodeDeployments: spec.receives_code_deployments,
  };
}

function describeServer(input: ServerInput): string {
  return input.transport === 'local'
    ? `local, ${input.deployPath}`
    : `${input.connectAs}@${input.host}:${input.port}, ${input.deployPath}`;
}

function serverDiff(existing: ServerView, input: ServerInput): Diff {
  const diff = new Diff();
  diff.field('transport', existing.transport, input.transport);
  // A local server has no host, port or user that matter.
  if (input.transport === 'ssh') {
    diff.field('host', existing.host, input.host);
    diff.field('port', existing.port, input.port);
    diff.field('user', existing.connectAs, input.connectAs);
  }
  diff.field('deploy_path', existing.deployPath, input.deployPath);
  diff.field('receives_code_deployments', existing.receivesCodeDeployments, input.receivesCodeDeployments);
  return diff;
}

function environmentInput(
  spec: EnvironmentSpec,
  projectBranch: string,
): EnvironmentInput & { branch: string } {
  return {
    name: spec.name,
    tier: spec.tier,
    branch: spec.branch ?? projectBranch,
    servers: [...spec.servers].sort(),
    externalUrl: spec.external_url,
    healthCheckUrl: spec.health_check_url,
    description: spec.description,
    commitBehaviour: spec.commit_behavior,
    autoStopSetting: spec.auto_stop_setting,
    approvalsRequired: spec.approvals.required,
    approverRole: spec.approvals.approver_role,
    approvalTtlMinutes: spec.approvals.ttl_minutes,
  };
}

function environmentDiff(existing: EnvironmentView, input: EnvironmentInput): Diff {
  const diff = new Diff();
  diff.field('tier', existing.tier, input.tier);
  diff.field('branch', existing.branch, input.branch);
  diff.field('servers', [...existing.servers].sort(), input.servers);
  diff.field('external_url', existing.externalUrl, input.externalUrl);
  diff.field('health_check_url', existing.healthCheckUrl, input.healthCheckUrl);
  diff.field('description', existing.description, input.description);
  diff.field('commit_behavior', existing.commitBehaviour, input.commitBehaviour);
  diff.field('auto_stop_setting', existing.autoStopSetting, input.autoStopSetting);
  diff.field('approvals.required', existing.approvalsRequired, input.approvalsRequired);
  diff.field('approvals.approver_role', existing.approverRole, input.approverRole);
  diff.field('approvals.ttl_minutes', existing.approvalTtlMinutes, input.approvalTtlMinutes);
  return diff;
}

type FreezeSpec = NonNullable<EnvironmentSpec['freeze_windows']>[number];

/** A freeze window of the file, or one Slipway holds, in the freeze service's terms (for comparing too). */
function freezeInput(spec: FreezeSpec | FreezeWindowInput): FreezeWindowInput {
  if ('cronStart' in spec || 'startsAt' in spec) {
    const held = spec as FreezeWindowInput;
    return {
      cronStart: held.cronStart ?? null,
      cronEnd: held.cronEnd ?? null,
      durationMinutes: held.durationMinutes ?? null,
      timezone: held.cronStart ? (held.timezone ?? 'UTC') : 'UTC',
      startsAt: held.startsAt ?? null,
      endsAt: held.endsAt ?? null,
      reason: held.reason ?? null,
    };
  }
  const file = spec as FreezeSpec;
  return {
    cronStart: file.start ?? null,
    cronEnd: file.end ?? null,
    durationMinutes: file.duration_minutes ?? null,
    timezone: file.start ? file.timezone : 'UTC',
    startsAt: file.from ?? null,
    endsAt: file.until ?? null,
    reason: file.reason ?? null,
  };
}

function sortedWindows(windows: FreezeWindowInput[]): string[] {
  return windows.map((w) => JSON.stringify(freezeInput(w))).sort();
}

function hookInput(spec: HookSpec): HookInput & { servers: string[] } {
  return {
    name: spec.name,
    script: spec.script,
    action: spec.action,
    timing: spec.timing,
    sequence: spec.sequence,
    runAs: spec.run_as,
    servers: [...spec.servers].sort(),
  };
}

function hookDiff(existing: HookView, input: HookInput & { servers: string[] }): Diff {
  const diff = new Diff();
  diff.field('action', existing.action, input.action);
  diff.field('timing', existing.timing, input.timing);
  diff.field('sequence', existing.sequence, input.sequence);
  diff.field('run_as', existing.runAs, input.runAs);
  diff.field('servers', [...existing.servers].sort(), input.servers);
  diff.flag('script', existing.script, input.script);
  return diff;
}

function identity(member: MemberSpec): ChatIdentityRef {
  const [platform, workspace, userId] = member.user.split(':') as [
    ChatIdentityRef['platform'],
    string,
    string,
  ];
  // No name: keep the name Slipway already knows (an empty name never overwrites one).
  return { platform, workspace, userId, displayName: member.name ?? '' };
}

function identityOf(key: string, row: MemberRoleRow): ChatIdentityRef {
  const [platform, workspace, userId] = key.split(':') as [ChatIdentityRef['platform'], string, string];
  return { platform, workspace, userId, displayName: row.name };
}
