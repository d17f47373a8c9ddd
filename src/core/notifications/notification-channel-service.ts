import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  type INotificationChannel,
  NotificationChannel,
  NotificationDelivery,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { NotificationQueue } from '../../jobs/notification-queue.js';
import { isOutboundRefusal, type OutboundGuard } from '../../net/outbound-guard.js';
import { isUuid, NOTIFICATION_PLATFORMS, type NotificationPlatform } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findProject } from '../lookup.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import {
  DEFAULT_CHANNEL_EVENTS,
  NOTIFICATION_EVENT_TYPES,
  type NotificationEventType,
} from './notification-events.js';
import type { ChannelTarget, ChannelTargetRules, NotificationSender } from './notification-sender.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:()#@/-]{0,99}$/;
/** Failed deliveries younger than this are sent again when a channel is fixed or switched back on. */
const REQUEUE_WINDOW_MS = 24 * 3600_000;

const GROUPS = ['deployment', 'approval', 'heartbeat', 'environment', 'push', 'pipeline'] as const;

/** Event names, `deployment.*`-style groups, or `*` for every event. */
const eventsSchema = z
  .array(z.string().trim(), { error: 'events must be a list of event names' })
  .min(1, 'events must name at least one event')
  .max(40)
  .transform((names, ctx) => {
    const out = new Set<NotificationEventType>();
    for (const name of names) {
      const group = name.endsWith('.*') ? name.slice(0, -1) : null;
      const known = (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(name);
      if (name !== '*' && !known && !(group && GROUPS.some((g) => `${g}.` === group))) {
        ctx.addIssue({
          code: 'custom',
          message: `"${name.slice(0, 60)}" is not an event: use ${NOTIFICATION_EVENT_TYPES.join(', ')}, a group such as deployment.*, or *`,
        });
        return z.NEVER;
      }
      for (const type of NOTIFICATION_EVENT_TYPES) {
        if (name === '*' || name === type || (group && type.startsWith(group))) out.add(type);
      }
    }
    return NOTIFICATION_EVENT_TYPES.filter((type) => out.has(type));
  });

const httpUrl = (field: string) =>
  z
    .url({ error: `${field} must be a URL` })
    .max(2000, `${field} is too long`)
    .refine((value) => /^https?:\/\//i.test(value), `${field} must be an http(s) URL`)
    // zod runs refinements after a failed url check too: a value that is no URL must not throw here.
    .refine((value) => {
      const url = URL.parse(value);
      return !url || (!url.username && !url.password);
    }, `${field} must not carry a user or password`);

const emails = z
  .union([z.string(), z.array(z.string())], { error: 'email must be an address or a list of addresses' })
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(',')).map((e) => e.trim()).filter(Boolean),
  )
  .pipe(
    z
      .array(z.email({ error: 'email must be valid e-mail addresses' }))
      .min(1, 'email must name at least one address')
      .max(20, 'email may name at most 20 addresses'),
  );
const secret = z
  .string({ error: 'secret must be a string' })
  .min(16, 'secret must be at least 16 characters (the receiver checks signatures with it)')
  .max(256, 'secret is too long');

const common = {
  name: z
    .string({ error: 'name is required' })
    .trim()
    .regex(NAME, 'name must be 1 to 100 letters, digits, spaces or . _ : ( ) # @ / -'),
  events: eventsSchema.optional(),
  active: z.boolean({ error: 'active must be true or false' }).optional(),
};

const targetFields = {
  webhookUrl: httpUrl('webhookUrl').optional(),
  channel: z.string().optional(),
  email: emails.optional(),
  secret: secret.optional(),
};

/**
 * A notification channel: `type` and its target — `slack` (webhookUrl, or channel through the bot
 * token), `discord` (webhookUrl, or channel through the bot token), `teams` (webhookUrl, or channel through the bot),
 * `webhook` (webhookUrl + secret for the HMAC-SHA256 signature), `email` (one or more addresses),
 * `github` (channel: the repository whose GitHub Deployments report the project's deployments) —
 * the events it wants (default: all but `deployment.queued`) and whether it is active.
 */
export const notificationChannelInputSchema = z
  .object({
    type: z.enum(NOTIFICATION_PLATFORMS, {
      error: `type must be one of ${NOTIFICATION_PLATFORMS.join(', ')}`,
    }),
    ...common,
    ...targetFields,
  })
  .strict();
export type NotificationChannelInput = z.input<typeof notificationChannelInputSchema>;

/** A change to a channel; its type cannot change (create another channel instead). */
export const notificationChannelPatchSchema = z
  .object({
    name: common.name.optional(),
    events: common.events,
    active: common.active,
    ...targetFields,
  })
  .strict();
export type NotificationChannelPatch = z.input<typeof notificationChannelPatchSchema>;

export interface NotificationChannelView {
  id: string;
  /** Null: a channel that hears about every project. */
  project: string | null;
  name: string;
  type: NotificationPlatform;
  /** `webhook` URL, a `channel` through the bot token, or `email` addresses. */
  targetKind: ChannelTarget['kind'];
  /** A channel id, the addresses, or a masked URL — never a webhook URL in clear. */
  target: string;
  hasSecret: boolean;
  events: NotificationEventType[];
  active: boolean;
  health: {
    status: 'ok' | 'failing' | 'untested';
    consecutiveFailures: number;
    failingSince: Date | null;
    lastError: string | null;
    lastErrorAt: Date | null;
    lastDeliveredAt: Date | null;
  };
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryView {
  id: string;
  event: string;
  eventId: string;
  status: string;
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: Date;
  deliveredAt: Date | null;
  nextAttemptAt: Date | null;
}

/** Each platform's target rules, from its sender (adapters/): which targets it takes, its id format. */
export type TargetRulesByPlatform = Partial<Record<NotificationPlatform, ChannelTargetRules>>;

export function targetRulesOf(senders: readonly NotificationSender[]): TargetRulesByPlatform {
  return Object.fromEntries(senders.map((sender) => [sender.platform, sender.targets]));
}

/**
 * Notification channels of a project (or global ones). Callers check roles; this validates,
 * seals the target and secret (SecretBox), records audit events, and never returns a webhook URL
 * or a secret in clear.
 */
export class NotificationChannelService {
  constructor(
    private readonly orm: Orm,
    private readonly secrets: SecretBox,
    private readonly queue: NotificationQueue | null,
    private readonly senders: readonly NotificationSender[],
    /** Webhook URLs that name an internal address are refused when saved, not only when called. */
    private readonly outbound: Pick<OutboundGuard, 'checkUrl'>,
  ) {}

  private async checkReachable(target: ChannelTarget): Promise<void> {
    if (target.kind !== 'webhook') return;
    try {
      await this.outbound.checkUrl(target.url);
    } catch (error) {
      if (!isOutboundRefusal(error)) throw error;
      throw new SlipwayError('invalid_input', `webhookUrl: ${error.message}.`, {
        fields: { webhookUrl: error.message },
      });
    }
  }

  /** The platforms' target rules, for checking a file before anything is read (`slipway apply`). */
  get targetRules(): TargetRulesByPlatform {
    return targetRulesOf(this.senders);
  }

  async list(projectName: string | null): Promise<NotificationChannelView[]> {
    const em = this.orm.em.fork();
    const project = projectName === null ? null : await findProject(em, projectName);
    const rows = await em.find(
      NotificationChannel,
      { project: project ? project.id : null },
      { orderBy: { name: 'asc' }, populate: ['project'] },
    );
    return rows.map(view);
  }

  async get(projectName: string | null, id: string): Promise<NotificationChannelView> {
    return view(await this.find(this.orm.em.fork(), projectName, id));
  }

  async create(
    actor: Actor,
    projectName: string | null,
    input: NotificationChannelInput,
  ): Promise<NotificationChannelView> {
    const value = parse(notificationChannelInputSchema, input);
    const issues = checkChannelTarget(this.targetRules, value.type, value);
    if (issues.length)
      throw new SlipwayError('invalid_input', `${issues[0]?.message}.`, { fields: fieldsOf(issues) });
    const em = this.orm.em.fork();
    const project = projectName === null ? null : await findProject(em, projectName);
    const target = targetOf(value.type, value);
    this.checkAvailable(value.type, target);
    await this.checkReachable(target);
    await this.checkGlobalName(em, project, value.name, null);
    return withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          const channel = tx.create(NotificationChannel, {
            project: project?.id ?? null,
            name: value.name,
            platform: value.type,
            target: this.secrets.seal(JSON.stringify(target), SECRET_PURPOSE.channelTarget),
            targetHint: hintOf(target),
            secret: value.secret ? this.secrets.seal(value.secret, SECRET_PURPOSE.channelSecret) : null,
            events: value.events ?? [...DEFAULT_CHANNEL_EVENTS],
            active: value.active ?? true,
          });
          recordAudit(tx, actor, {
            action: 'notification_channel.create',
            result: 'ok',
            projectId: project?.id ?? null,
            targetType: 'notification_channel',
            targetId: channel.id,
            details: { name: value.name, type: value.type, target: hintOf(target), events: channel.events },
          });
          await tx.flush();
          await tx.populate(channel, ['project']);
          return view(channel);
        }),
      { notification_channels_project_id_name_unique: nameTaken(projectName, value.name) },
    );
  }

  async update(
    actor: Actor,
    projectName: string | null,
    id: string,
    patch: NotificationChannelPatch,
  ): Promise<NotificationChannelView> {
    const value = parse(notificationChannelPatchSchema, patch);
    const em = this.orm.em.fork();
    const channel = await this.find(em, projectName, id);
    const changed: string[] = [];
    let fixed = false;
    const wantsTarget =
      value.webhookUrl !== undefined || value.channel !== undefined || value.email !== undefined;
    if (wantsTarget) {
      const current = this.targetOf(channel);
      const merged = {
        webhookUrl:
          value.webhookUrl ??
          (current.kind === 'webhook' && value.channel === undefined ? current.url : undefined),
        channel:
          value.channel ??
          (current.kind === 'channel' && value.webhookUrl === undefined ? current.channel : undefined),
        email: value.email ?? (current.kind === 'email' ? current.to : undefined),
        secret: value.secret ?? (channel.secret ? 'x'.repeat(16) : undefined),
      };
      const issues = checkChannelTarget(this.targetRules, channel.platform, merged);
      if (issues.length)
        throw new SlipwayError('invalid_input', `${issues[0]?.message}.`, { fields: fieldsOf(issues) });
      const target = targetOf(channel.platform, merged);
      this.checkAvailable(channel.platform, target);
      await this.checkReachable(target);
      channel.target = this.secrets.seal(JSON.stringify(target), SECRET_PURPOSE.channelTarget);
      channel.targetHint = hintOf(target);
      changed.push('target');
      fixed = true;
    }
    if (value.secret !== undefined) {
      if (channel.platform !== 'webhook') {
        throw new SlipwayError('invalid_input', 'secret only applies to a webhook channel.', {
          fields: { secret: 'secret only applies to a webhook channel' },
        });
      }
      channel.secret = this.secrets.seal(value.secret, SECRET_PURPOSE.channelSecret);
      changed.push('secret');
      fixed = true;
    }
    if (value.name !== undefined && value.name !== channel.name) {
      await this.checkGlobalName(em, channel.project ?? null, value.name, channel.id);
      channel.name = value.name;
      changed.push('name');
    }
    if (value.events !== undefined) {
      channel.events = value.events;
      changed.push('events');
    }
    if (value.active !== undefined && value.active !== channel.active) {
      channel.active = value.active;
      changed.push('active');
      fixed ||= value.active;
    }
    if (fixed) {
      // A new target or secret may well be the fix: let the next delivery tell.
      channel.consecutiveFailures = 0;
      channel.failingSince = null;
      channel.nextSendAt = null;
    }
    return withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          recordAudit(tx, actor, {
            action: 'notification_channel.update',
            result: 'ok',
            projectId: channel.project?.id ?? null,
            targetType: 'notification_channel',
            targetId: channel.id,
            details: { changed, target: channel.targetHint },
          });
          await tx.flush();
          if (fixed && channel.active) await this.requeueFailed(tx, channel.id);
          return view(channel);
        }),
      { notification_channels_project_id_name_unique: nameTaken(projectName, value.name ?? channel.name) },
    );
  }

  async remove(actor: Actor, projectName: string | null, id: string): Promise<NotificationChannelView> {
    const em = this.orm.em.fork();
    const channel = await this.find(em, projectName, id);
    const removed = view(channel);
    em.remove(channel);
    recordAudit(em, actor, {
      action: 'notification_channel.delete',
      result: 'ok',
      projectId: channel.project?.id ?? null,
      targetType: 'notification_channel',
      targetId: channel.id,
      details: { name: channel.name, type: channel.platform },
    });
    await em.flush();
    return removed;
  }

  /** The channel's latest deliveries, newest first: what was sent, what failed and why. */
  async deliveries(projectName: string | null, id: string, limit = 20): Promise<DeliveryView[]> {
    const em = this.orm.em.fork();
    const channel = await this.find(em, projectName, id);
    const rows = await em.find(
      NotificationDelivery,
      { channel },
      { orderBy: { createdAt: 'desc' }, limit: Math.min(Math.max(limit, 1), 100), populate: ['event'] },
    );
    return rows.map((row) => ({
      id: row.id,
      event: row.event.type,
      eventId: row.event.id,
      status: row.status,
      attempts: row.attempts,
      lastError: row.lastError ?? null,
      lastStatus: row.lastStatus ?? null,
      createdAt: row.createdAt,
      deliveredAt: row.deliveredAt ?? null,
      nextAttemptAt: ['pending', 'retrying'].includes(row.status) ? row.nextAttemptAt : null,
    }));
  }

  /** Sends the channel's failed deliveries of the last day again; returns how many. */
  async retryFailed(actor: Actor, projectName: string | null, id: string): Promise<number> {
    const em = this.orm.em.fork();
    const channel = await this.find(em, projectName, id);
    return em.transactional(async (tx) => {
      const count = await this.requeueFailed(tx, channel.id);
      recordAudit(tx, actor, {
        action: 'notification_channel.retry',
        result: 'ok',
        projectId: channel.project?.id ?? null,
        targetType: 'notification_channel',
        targetId: channel.id,
        details: { deliveries: count },
      });
      await tx.flush();
      return count;
    });
  }

  /**
   * Which fields of `input` differ from the stored channel (comparing the sealed target and
   * secret in memory): lets `slipway apply` plan a no-op as a no-op.
   */
  async differences(
    projectName: string | null,
    id: string,
    input: NotificationChannelInput,
  ): Promise<string[]> {
    const value = parse(notificationChannelInputSchema, input);
    const channel = await this.find(this.orm.em.fork(), projectName, id);
    const out: string[] = [];
    if (value.type !== channel.platform) out.push('type');
    if (value.name !== channel.name) out.push('name');
    const events = value.events ?? [...DEFAULT_CHANNEL_EVENTS];
    if (events.join() !== [...channel.events].join()) out.push('events');
    if ((value.active ?? true) !== channel.active) out.push('active');
    if (
      value.type === channel.platform &&
      JSON.stringify(targetOf(value.type, value)) !== JSON.stringify(this.targetOf(channel))
    ) {
      out.push('target');
    }
    const storedSecret = channel.secret
      ? this.secrets.open(channel.secret, SECRET_PURPOSE.channelSecret)
      : undefined;
    if ((value.secret ?? undefined) !== storedSecret) out.push('secret');
    return out;
  }

  /** The decrypted target, for the delivery worker. */
  targetOf(channel: Pick<INotificationChannel, 'target'>): ChannelTarget {
    return JSON.parse(this.secrets.open(channel.target, SECRET_PURPOSE.channelTarget)) as ChannelTarget;
  }

  private async requeueFailed(tx: EntityManager, channelId: string): Promise<number> {
    const rows = await tx.getConnection().execute<{ id: string }[]>(
      `update notification_deliveries
          set status = 'pending', next_attempt_at = now(), attempts = 0, slot_at = null, updated_at = now()
        where channel_id = ? and status = 'failed' and created_at > ?
        returning id`,
      [channelId, new Date(Date.now() - REQUEUE_WINDOW_MS)],
      'all',
      tx.getTransactionContext(),
    );
    // Without a queue (`slipway apply` from the CLI), the service's recovery sends them within minutes.
    if (rows.length && this.queue) await this.queue.deliver(rows, tx);
    return rows.length;
  }

  /** The unique (project, name) key does not cover global channels (NULL project): checked here. */
  private async checkGlobalName(
    em: EntityManager,
    project: { id: string } | null,
    name: string,
    except: string | null,
  ): Promise<void> {
    if (project) return;
    const clash = await em.findOne(NotificationChannel, {
      project: null,
      name,
      ...(except ? { id: { $ne: except } } : {}),
    });
    if (clash) throw new SlipwayError('conflict', nameTaken(null, name));
  }

  /** The platform's sender can serve the target here (a bot token or an SMTP server is configured). */
  private checkAvailable(platform: NotificationPlatform, target: ChannelTarget): void {
    const sender = this.senders.find((candidate) => candidate.platform === platform);
    const why = sender ? sender.unavailable(target) : `this Slipway has no ${platform} sender`;
    if (why) {
      const field = target.kind === 'webhook' ? 'webhookUrl' : target.kind;
      throw new SlipwayError('invalid_input', `${why[0]?.toUpperCase()}${why.slice(1)}.`, {
        fields: { [field]: why },
      });
    }
  }

  private async find(
    em: EntityManager,
    projectName: string | null,
    id: string,
  ): Promise<INotificationChannel> {
    const project = projectName === null ? null : await findProject(em, projectName);
    const where = isUuid(id)
      ? { project: project?.id ?? null, $or: [{ id }, { name: id }] }
      : { project: project?.id ?? null, name: id };
    const channel = await em.findOne(NotificationChannel, where, { populate: ['project'] });
    if (!channel) {
      throw new SlipwayError(
        'not_found',
        project
          ? `Project ${project.name} has no notification channel "${id}".`
          : `There is no global notification channel "${id}".`,
      );
    }
    return channel;
  }
}

export type TargetFields = {
  webhookUrl?: string | undefined;
  channel?: string | undefined;
  email?: string[] | undefined;
  secret?: string | undefined;
};

export interface TargetIssue {
  path: string;
  message: string;
}

/**
 * A channel's target against its platform's rules: one of the kinds it takes (both webhook and
 * bot channel: exactly one), a well-formed channel id, a secret where requests are signed, and
 * nothing that does not apply. The issues come in the order a person fixes them.
 */
export function checkChannelTarget(
  rules: TargetRulesByPlatform,
  platform: NotificationPlatform,
  input: TargetFields,
): TargetIssue[] {
  const own = rules[platform];
  if (!own) return [{ path: 'type', message: `this Slipway cannot send to ${platform} channels` }];
  const issues: TargetIssue[] = [];
  const has = (key: keyof TargetFields) => input[key] !== undefined;
  const forbid = (key: keyof TargetFields, why: string) => {
    if (has(key)) issues.push({ path: key, message: `${key} ${why}` });
  };
  const article = /^[aeiou]/.test(platform) ? 'an' : 'a';
  if (own.webhook && own.channel) {
    if (has('webhookUrl') === has('channel')) {
      issues.push({
        path: has('webhookUrl') ? 'channel' : 'webhookUrl',
        message: `${article} ${platform} channel needs either webhookUrl or channel (posted through the bot token), not both`,
      });
    }
  } else {
    const key: keyof TargetFields = own.webhook ? 'webhookUrl' : own.channel ? 'channel' : 'email';
    if (!has(key))
      issues.push({ path: key, message: own.missing ?? `${article} ${platform} channel needs ${key}` });
  }
  if (own.signed && !has('secret')) {
    issues.push({
      path: 'secret',
      message: `${article} ${platform} channel needs a secret to sign its requests with`,
    });
  }
  if (own.channel && has('channel') && !own.channel.pattern.test(String(input.channel).trim())) {
    issues.push({ path: 'channel', message: own.channel.message });
  }
  if (!own.webhook) forbid('webhookUrl', `does not apply to ${article} ${platform} channel`);
  if (!own.channel) forbid('channel', `does not apply to ${article} ${platform} channel`);
  if (!own.email) forbid('email', `does not apply to ${article} ${platform} channel`);
  if (!own.signed) forbid('secret', 'only applies to a webhook channel');
  return issues;
}

function targetOf(platform: NotificationPlatform, input: TargetFields): ChannelTarget {
  if (platform === 'email') return { kind: 'email', to: input.email ?? [] };
  if (input.channel !== undefined) {
    return { kind: 'channel', channel: input.channel.trim() };
  }
  return { kind: 'webhook', url: input.webhookUrl ?? '' };
}

/** What may be shown of a target: channel ids and addresses as they are, URLs masked. */
export function hintOf(target: ChannelTarget): string {
  if (target.kind === 'channel') return target.channel;
  if (target.kind === 'email') return target.to.join(', ').slice(0, 255);
  const url = new URL(target.url);
  const tail = target.url.replace(/\/+$/, '').slice(-4);
  return `${url.protocol}//${url.host}/…${tail}`;
}

function view(channel: INotificationChannel): NotificationChannelView {
  const kind: ChannelTarget['kind'] =
    channel.platform === 'email' ? 'email' : /^https?:\/\//.test(channel.targetHint) ? 'webhook' : 'channel';
  return {
    id: channel.id,
    project: channel.project?.name ?? null,
    name: channel.name,
    type: channel.platform,
    targetKind: kind,
    target: channel.targetHint,
    hasSecret: !!channel.secret,
    events: [...channel.events].filter((e): e is NotificationEventType =>
      (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(e),
    ),
    active: channel.active,
    health: {
      status: channel.failingSince ? 'failing' : channel.lastDeliveredAt ? 'ok' : 'untested',
      consecutiveFailures: channel.consecutiveFailures,
      failingSince: channel.failingSince ?? null,
      lastError: channel.lastError ?? null,
      lastErrorAt: channel.lastErrorAt ?? null,
      lastDeliveredAt: channel.lastDeliveredAt ?? null,
    },
    createdAt: channel.createdAt,
    updatedAt: channel.updatedAt,
  };
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SlipwayError('invalid_input', `${issue?.message ?? 'invalid notification channel'}.`, {
      fields: fieldsOf(
        parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'channel', message: i.message })),
      ),
    });
  }
  return parsed.data;
}

function fieldsOf(issues: readonly TargetIssue[]): Record<string, string> {
  return Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
}

function nameTaken(projectName: string | null, name: string): string {
  return projectName
    ? `Project ${projectName} already has a notification channel named "${name}".`
    : `There is already a global notification channel named "${name}".`;
}
