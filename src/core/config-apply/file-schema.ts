import { z } from 'zod';
import { isSafeRef, validateRef } from '../../engine/index.js';
import {
  CHAT_PLATFORMS,
  COMMIT_BEHAVIOURS,
  ENVIRONMENT_TIERS,
  HOOK_ACTIONS,
  HOOK_TIMINGS,
  NOTIFICATION_PLATFORMS,
  REPOSITORY_PROVIDERS,
  ROLES,
  TEST_GATE_MODES,
} from '../../vocabulary.js';
import { pipelineStageSchema } from '../pipelines/index.js';

/**
 * The shape of `slipway.yml`. Fields left out take Slipway's defaults; a list left out
 * (`hooks`, `members`, …) is not managed at all, so `--prune` never touches it.
 */
const name = (what: string) =>
  z
    .string({ error: `${what} must be a name` })
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
      `${what} must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );

const ref = (what: string) =>
  z.string({ error: `${what} must be a branch name` }).superRefine((value, ctx) => {
    if (isSafeRef(value)) return;
    try {
      validateRef(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

const userName = z
  .string({ error: 'must be a user name' })
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be a user name (letters, digits, "_", ".", "-")');

const server = z
  .object({
    name: name('name'),
    transport: z.enum(['ssh', 'local'], { error: 'transport must be ssh or local' }).default('ssh'),
    host: z
      .string({ error: 'host must be a host name or address' })
      .regex(/^[A-Za-z0-9._:[\]-]+$/, 'host must be a host name or an IP address')
      .optional(),
    port: z
      .number({ error: 'port must be a number' })
      .int('port must be a whole number')
      .min(1, 'port must be between 1 and 65535')
      .max(65535, 'port must be between 1 and 65535')
      .default(22),
    user: userName.optional(),
    deploy_path: z.string({ error: 'deploy_path is required' }).min(1, 'deploy_path is required').max(1000),
    receives_code_deployments: z
      .boolean({ error: 'receives_code_deployments must be true or false' })
      .default(true),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.transport !== 'ssh') return;
    if (!value.host)
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'host is required for an ssh server' });
    if (!value.user)
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'user is required for an ssh server' });
  });

/** GitLab's deploy freezes: a cron `start` and an `end` (cron) or `duration_minutes`, or a date range. */
const freezeWindow = z
  .object({
    start: z.string({ error: 'start must be a cron expression' }).min(1).max(120).optional(),
    end: z.string({ error: 'end must be a cron expression' }).min(1).max(120).optional(),
    duration_minutes: z
      .number({ error: 'duration_minutes must be a number' })
      .int()
      .min(1)
      .max(44_640)
      .optional(),
    timezone: z.string().min(1).max(64).default('UTC'),
    from: z.coerce.date({ error: 'from must be a date-time like 2026-12-24T00:00:00Z' }).optional(),
    until: z.coerce.date({ error: 'until must be a date-time like 2026-12-27T00:00:00Z' }).optional(),
    reason: z.string().max(500).nullable().default(null),
  })
  .strict()
  .superRefine((value, ctx) => {
    const recurring = value.start !== undefined;
    if (recurring && (value.from || value.until)) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: 'a freeze has start (cron) or from/until, not both',
      });
    } else if (recurring && (value.end === undefined) === (value.duration_minutes === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'a recurring freeze needs end or duration_minutes',
      });
    } else if (!recurring && (!value.from || !value.until)) {
      ctx.addIssue({
        code: 'custom',
        path: [value.from ? 'until' : 'from'],
        message: 'a freeze needs start (cron), or from and until',
      });
    } else if (!recurring && value.from && value.until && value.until <= value.from) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'until must come after from' });
    }
  });

const environment = z
  .object({
    name: name('name'),
    tier: z
      .enum(ENVIRONMENT_TIERS, { error: `tier must be one of ${ENVIRONMENT_TIERS.join(', ')}` })
      .default('other'),
    branch: ref('branch').optional(),
    servers: z.array(name('each server')).default([]),
    external_url: z.url({ error: 'external_url must be a URL' }).nullable().default(null),
    health_check_url: z.url({ error: 'health_check_url must be a URL' }).nullable().default(null),
    freeze_windows: z.array(freezeWindow).optional(),
    description: z.string().max(2000).nullable().default(null),
    commit_behavior: z
      .enum(COMMIT_BEHAVIOURS, { error: `commit_behavior must be one of ${COMMIT_BEHAVIOURS.join(', ')}` })
      .default('do_nothing'),
    auto_stop_setting: z
      .enum(['always', 'with_action'], { error: 'auto_stop_setting must be always or with_action' })
      .default('always'),
    approvals: z
      .object({
        required: z
          .number({ error: 'required must be a number' })
          .int()
          .min(0, 'required must be between 0 and 10')
          .max(10, 'required must be between 0 and 10'),
        approver_role: z
          .enum(ROLES, { error: `approver_role must be one of ${ROLES.join(', ')}` })
          .default('approver'),
        ttl_minutes: z
          .number({ error: 'ttl_minutes must be a number' })
          .int()
          .min(1, 'ttl_minutes must be between 1 and 10080')
          .max(10_080, 'ttl_minutes must be between 1 and 10080')
          .default(30),
      })
      .strict()
      .default({ required: 0, approver_role: 'approver', ttl_minutes: 30 }),
  })
  .strict();

const hook = z
  .object({
    name: z.string({ error: 'name is required' }).min(1, 'name is required').max(255),
    action: z.enum(HOOK_ACTIONS, { error: `action must be one of ${HOOK_ACTIONS.join(', ')}` }),
    timing: z.enum(HOOK_TIMINGS, { error: 'timing must be before or after' }),
    script: z.string({ error: 'script is required' }).min(1, 'script is required').max(65_536),
    run_as: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/i, 'run_as must be a user name')
      .nullable()
      .default(null),
    sequence: z.number({ error: 'sequence must be a number' }).int().min(0).max(10_000).default(0),
    servers: z.array(name('each server')).default([]),
  })
  .strict();

const member = z
  .object({
    user: z
      .string({ error: 'user is required' })
      .regex(
        new RegExp(`^(${CHAT_PLATFORMS.join('|')}):[^:\\s]+:[^:\\s]+$`),
        `user must be platform:workspace:user with platform one of ${CHAT_PLATFORMS.join(', ')} (e.g. slack:T123:U456)`,
      ),
    name: z.string().min(1).max(255).optional(),
    role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }),
  })
  .strict();

/** Checked in full by the notification channel service's own schema; these are its fields. */
const notification = z
  .object({
    name: z.string({ error: 'name is required' }),
    type: z.enum(NOTIFICATION_PLATFORMS, {
      error: `type must be one of ${NOTIFICATION_PLATFORMS.join(', ')}`,
    }),
    events: z.array(z.string()).optional(),
    active: z.boolean({ error: 'active must be true or false' }).optional(),
    webhook_url: z.string().optional(),
    channel: z.string().optional(),
    email: z.union([z.string(), z.array(z.string())]).optional(),
    secret: z.string().optional(),
  })
  .strict();

/** Escape's pipelines, as the issue writes them: stages of an environment and its steps. */
const pipeline = z
  .object({
    name: name('name'),
    /** Signs webhook-trigger bodies; `${NAME}` reads it from the environment. Generated when left out. */
    signing_secret: z.string().min(16, 'signing_secret must be at least 16 characters').max(500).optional(),
    stages: z.array(pipelineStageSchema).min(1, 'a pipeline has at least one stage').max(20),
  })
  .strict();

const project = z
  .object({
    name: name('name'),
    repository: z.string({ error: 'repository is required' }).min(1, 'repository is required').max(2000),
    provider: z
      .enum(REPOSITORY_PROVIDERS, { error: `provider must be one of ${REPOSITORY_PROVIDERS.join(', ')}` })
      .default('git'),
    /** owner/name on GitHub; derived from a github.com `repository` when left out, none when null. */
    github_repository: z
      .string({ error: 'github_repository must be owner/name' })
      .regex(
        /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/,
        'github_repository must be owner/name, e.g. acme/api',
      )
      .nullable()
      .optional(),
    branch: ref('branch').default('main'),
    releases_to_keep: z
      .number({ error: 'releases_to_keep must be a number' })
      .int()
      .min(2, 'releases_to_keep must be between 2 and 100')
      .max(100, 'releases_to_keep must be between 2 and 100')
      .default(5),
    install_command: z.string().max(10_000).nullable().default(null),
    health_check_url: z.url({ error: 'health_check_url must be a URL' }).nullable().default(null),
    rollback_on_health_failure: z.boolean().default(false),
    push_to_deploy: z.boolean().default(false),
    test_gates: z
      .object({
        staging: z.enum(TEST_GATE_MODES, { error: 'staging must be block or warn' }).default('warn'),
        production: z.enum(TEST_GATE_MODES, { error: 'production must be block or warn' }).default('block'),
      })
      .strict()
      .default({ staging: 'warn', production: 'block' }),
    linked_folders: z
      .array(z.object({ from: z.string().min(1).max(255), to: z.string().min(1).max(255) }).strict())
      .optional(),
    servers: z.array(server).optional(),
    environments: z.array(environment).optional(),
    hooks: z.array(hook).optional(),
    members: z.array(member).optional(),
    notifications: z.array(notification).optional(),
    pipelines: z.array(pipeline).optional(),
  })
  .strict();

export const configFileSchema = z
  .object({
    version: z.literal(1, { error: 'version must be 1' }).optional(),
    projects: z
      .array(project, { error: 'projects must be a list' })
      .min(1, 'projects must list at least one project'),
  })
  .strict();

export type ConfigFile = z.output<typeof configFileSchema>;
export type ProjectSpec = ConfigFile['projects'][number];
export type ServerSpec = NonNullable<ProjectSpec['servers']>[number];
export type EnvironmentSpec = NonNullable<ProjectSpec['environments']>[number];
export type HookSpec = NonNullable<ProjectSpec['hooks']>[number];
export type MemberSpec = NonNullable<ProjectSpec['members']>[number];
export type NotificationSpec = NonNullable<ProjectSpec['notifications']>[number];
export type PipelineSpec = NonNullable<ProjectSpec['pipelines']>[number];
