import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PostedNotificationRef } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { NotificationQueue } from '../../jobs/notification-queue.js';
import type { Logger } from '../../logger.js';
import type { NotificationPlatform } from '../../vocabulary.js';
import { recordAudit, SYSTEM_ACTOR } from '../access/index.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import { backoffMs, DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './notification-delivery-policy.js';
import type { Notification } from './notification-events.js';
import { CLAIMER_IS_GONE_SQL } from './notification-liveness.js';
import {
  type ChannelTarget,
  failureFromError,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
} from './notification-sender.js';

/** Outbox rows are kept this long (deliveries go with their event). */
const RETENTION_DAYS = 30;
/** A delivery or event with no progress for this long gets a fresh job (its job was lost or failed). */
const STALLED_MINUTES = 5;
/**
 * Longest a claim may last (request timeout, pacing wait, bookkeeping) before it is taken back
 * whoever holds it: a claim left behind by a bug or a lost connection is not left forever.
 */
const LEASE_MINUTES = 5;
/** Events one fan-out handles: a burst is absorbed by the first jobs that run. */
const FANOUT_BATCH = 500;
/**
 * After its own delivery a job keeps taking due deliveries from the table for up to this long:
 * jobs are wake-ups, the table is the truth, and a backlog drains at the speed of the channels
 * rather than of the queue's polling.
 */
const DRAIN_MS = 20_000;

interface ClaimedRow {
  id: string;
  event_id: string;
  channel_id: string;
  subject: string | null;
  seq: string;
  attempts: number;
  in_doubt: boolean;
  claimed_at: Date;
  slot_at: Date | null;
}

interface ChannelRow {
  id: string;
  name: string;
  platform: NotificationPlatform;
  target: string;
  secret: string | null;
  active: boolean;
  project_id: string | null;
}

interface EventRow {
  id: string;
  seq: string;
  type: Notification['type'];
  project: string | null;
  project_id: string | null;
  subject: string | null;
  data: Notification['data'];
  created_at: Date;
}

export interface ChannelFailing {
  channelId: string;
  name: string;
  platform: NotificationPlatform;
  error: string;
}

/**
 * Sends notifications: fans an outbox event out to the channels that want it, then delivers each one
 * with the platform's sender. Every step is a guarded update of a row, so jobs that run twice,
 * on two replicas, or after a crash do no harm:
 *
 * - claim: `pending|retrying → sending`, only when due and when no earlier notification about the same
 *   subject is still open in the channel (a deployment's notifications apply in order);
 * - pacing: a slot on the channel (`next_send_at`, shared by replicas) per message;
 * - outcome: delivered; or retried with exponential back-off and jitter (429: after Retry-After,
 *   and the whole channel waits); or failed — kept, and sent again when the channel is fixed;
 * - a channel that keeps failing is marked (`failing_since`) and reported;
 * - a worker that died mid-send is noticed (its liveness lock is free) and its deliveries go
 *   back, in doubt: senders that can look for the message first (Slack) or dedupe by the
 *   delivery id (webhooks, Discord nonce, e-mail Message-ID) keep it to one message.
 */
export class NotificationDeliveryWorker {
  private readonly senders = new Map<NotificationPlatform, NotificationSender>();
  private readonly policy: DeliveryPolicy;
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: {
      orm: Orm;
      queue: NotificationQueue;
      secrets: SecretBox;
      instanceId: string;
      logger: Logger;
      /** The platforms' senders (adapters/, through the registry). */
      senders: readonly NotificationSender[];
      policy?: Partial<DeliveryPolicy>;
      onDelivered?: (platform: NotificationPlatform, outcome: 'delivered' | 'retrying' | 'failed') => void;
      onChannelFailing?: (channel: ChannelFailing) => void;
    },
  ) {
    this.policy = {
      ...DEFAULT_DELIVERY_POLICY,
      ...deps.policy,
      paceMs: { ...DEFAULT_DELIVERY_POLICY.paceMs, ...deps.policy?.paceMs },
    };
    for (const sender of deps.senders) this.senders.set(sender.platform, sender);
  }

  /** Aborts in-flight requests at shutdown (they are retried, in doubt, by whoever runs next). */
  stop(): void {
    this.stopping.abort('shutdown');
  }

  /**
   * One delivery per channel that is active and subscribed, for the oldest events not yet fanned
   * out (the job's own among them, unless a burst put more than a batch ahead of it). One
   * statement picks the events, marks them and inserts their deliveries, so an event committed
   * meanwhile is either in all three or in none; concurrent fan-outs skip each other's events.
   */
  async fanOut(_eventIds: readonly string[] = []): Promise<number> {
    const em = this.deps.orm.em.fork();
    return em.transactional(async (tx) => {
      const rows = await run<{ id: string }>(
        tx,
        `with picked as (
           select id, project_id, subject, seq, type from notification_events
            where fanned_out_at is null
            order by seq limit ${FANOUT_BATCH}
              for update skip locked
         ), marked as (
           update notification_events set fanned_out_at = now() where id in (select id from picked)
         )
         insert into notification_deliveries
                (id, event_id, channel_id, subject, seq, status, attempts, in_doubt, next_attempt_at, created_at, updated_at)
         select gen_random_uuid(), e.id, c.id, e.subject, e.seq, 'pending', 0, false, now(), now(), now()
           from picked e
           join notification_channels c on c.project_id = e.project_id or c.project_id is null
          where c.active and c.events @> jsonb_build_array(e.type)
          order by e.seq
         on conflict (event_id, channel_id) do nothing
         returning id`,
      );
      await this.deps.queue.deliver(rows, tx);
      return rows.length;
    });
  }

  async deliver(deliveryId: string): Promise<void> {
    const em = this.deps.orm.em.fork();
    const until = Date.now() + DRAIN_MS;
    let claimed = await this.claim(em, deliveryId);
    for (;;) {
      if (claimed) {
        const log = this.deps.logger.child({ deliveryId: claimed.id, channelId: claimed.channel_id });
        try {
          await this.attempt(em, claimed, log);
        } catch (error) {
          log.error({ err: error }, 'notification delivery crashed');
          await this.putBack(claimed, error);
          throw error;
        }
      }
      if (this.stopping.signal.aborted || Date.now() > until) return;
      claimed = await this.claimNext(em);
      if (!claimed) return;
    }
  }

  /**
   * Deliveries claimed by processes that are gone go back to the queue, in doubt; deliveries and
   * events that lost their job get a new one; old outbox rows are pruned. Runs at start and
   * periodically.
   */
  async recover(): Promise<{ reclaimed: number; restarted: number }> {
    const em = this.deps.orm.em.fork();
    return em.transactional(async (tx) => {
      const reclaimed = await run<{ id: string }>(
        tx,
        `update notification_deliveries
            set status = 'pending', in_doubt = true, next_attempt_at = now(), claimed_by = null, updated_at = now()
          where status = 'sending' and claimed_by is not null
            and ((claimed_by <> ? and ${CLAIMER_IS_GONE_SQL})
                 or updated_at < now() - make_interval(mins => ${LEASE_MINUTES}))
          returning id`,
        [this.deps.instanceId],
      );
      const stalled = await run<{ id: string }>(
        tx,
        `select id from notification_deliveries
          where status in ('pending', 'retrying') and next_attempt_at < now() - make_interval(mins => ${STALLED_MINUTES})
          limit 1000`,
      );
      const unannounced = await run<{ id: string }>(
        tx,
        `select id from notification_events
          where fanned_out_at is null and created_at < now() - make_interval(mins => ${STALLED_MINUTES})
          limit 1000`,
      );
      await this.deps.queue.deliver([...reclaimed, ...stalled], tx);
      await this.deps.queue.fanOut(
        unannounced.map((row) => row.id),
        tx,
      );
      await run(
        tx,
        `delete from notification_events
          where id in (select id from notification_events
                        where created_at < now() - make_interval(days => ${RETENTION_DAYS}) limit 5000)`,
      );
      if (reclaimed.length) {
        this.deps.logger.warn(
          { deliveries: reclaimed.length },
          'notifications in flight in a process that stopped are sent again (in doubt)',
        );
      }
      return { reclaimed: reclaimed.length, restarted: stalled.length + unannounced.length };
    });
  }

  private async claim(em: EntityManager, deliveryId: string): Promise<ClaimedRow | null> {
    const [claimed] = await run<ClaimedRow>(
      em,
      `update notification_deliveries d
          set status = 'sending', attempts = d.attempts + 1, claimed_by = ?, claimed_at = ${CLAIMED_AT}, updated_at = now()
        where d.id = ? and ${claimable('d')}
        returning ${CLAIMED_COLUMNS}`,
      [this.deps.instanceId, deliveryId],
    );
    if (claimed) return claimed;
    // Not claimable: done, someone else's, not due yet, or waiting for an earlier notification.
    const [state] = await run<{ status: string; next_attempt_at: Date; blocker_due: Date | null }>(
      em,
      `select d.status, d.next_attempt_at,
              (select max(e.next_attempt_at) from notification_deliveries e
                where d.subject is not null and e.channel_id = d.channel_id and e.subject = d.subject
                  and e.seq < d.seq and e.status in ('pending', 'sending', 'retrying')) as blocker_due
         from notification_deliveries d where d.id = ?`,
      [deliveryId],
    );
    if (!state || (state.status !== 'pending' && state.status !== 'retrying')) return null;
    const due = Math.max(
      new Date(state.next_attempt_at).getTime(),
      state.blocker_due ? new Date(state.blocker_due).getTime() + 200 : 0,
      Date.now() + 500,
    );
    await this.deps.queue.deliver([{ id: deliveryId, startAfter: new Date(due) }]);
    return null;
  }

  /** The oldest due delivery no other worker holds, if any. */
  private async claimNext(em: EntityManager): Promise<ClaimedRow | null> {
    const [claimed] = await run<ClaimedRow>(
      em,
      `update notification_deliveries d
          set status = 'sending', attempts = d.attempts + 1, claimed_by = ?, claimed_at = ${CLAIMED_AT}, updated_at = now()
        where d.id = (select c.id from notification_deliveries c where ${claimable('c')}
                       order by c.next_attempt_at limit 1 for update skip locked)
          and d.status in ('pending', 'retrying')
        returning ${CLAIMED_COLUMNS}`,
      [this.deps.instanceId],
    );
    return claimed ?? null;
  }

  private async attempt(em: EntityManager, claimed: ClaimedRow, log: Logger): Promise<void> {
    const [channel] = await run<ChannelRow>(
      em,
      'select id, name, platform, target, secret, active, project_id from notification_channels where id = ?',
      [claimed.channel_id],
    );
    const [event] = await run<EventRow>(
      em,
      `select e.id, e.seq, e.type, p.name as project, e.project_id, e.subject, e.data, e.created_at
         from notification_events e left join projects p on p.id = e.project_id where e.id = ?`,
      [claimed.event_id],
    );
    if (!channel || !event) return; // deleted meanwhile (cascade took the delivery too)
    if (!channel.active) return this.settle(em, claimed, 'skipped', null, null);

    const sender = this.senders.get(channel.platform);
    let target: ChannelTarget;
    let secret: string | null;
    try {
      target = JSON.parse(
        this.deps.secrets.open(channel.target, SECRET_PURPOSE.channelTarget),
      ) as ChannelTarget;
      secret = channel.secret ? this.deps.secrets.open(channel.secret, SECRET_PURPOSE.channelSecret) : null;
    } catch (error) {
      return this.fail(
        em,
        claimed,
        channel,
        new NotificationSendError('permanent', (error as Error).message),
        log,
      );
    }
    const unavailable = sender
      ? sender.unavailable(target)
      : `this Slipway has no ${channel.platform} sender configured`;
    if (!sender || unavailable) {
      return this.fail(
        em,
        claimed,
        channel,
        new NotificationSendError('permanent', unavailable ?? 'no sender'),
        log,
      );
    }

    const editable = !!claimed.subject && sender.canEdit(target);
    let previous: (PostedNotificationRef & { lastSeq: number }) | null = null;
    if (editable && claimed.subject) {
      // A later notification about the same subject is queued for this channel: it will show the
      // newer state (unless the platform keeps every state, like GitHub's deployment statuses).
      const [later] = sender.keepsHistory
        ? []
        : await run<{ id: string }>(
            em,
            `select id from notification_deliveries
              where channel_id = ? and subject = ? and seq > ? and status in ('pending', 'retrying') limit 1`,
            [channel.id, claimed.subject, claimed.seq],
          );
      if (later) return this.settle(em, claimed, 'superseded', null, null, [later.id]);
      const [message] = await run<{ ref: PostedNotificationRef; last_seq: string }>(
        em,
        'select ref, last_seq from notification_messages where channel_id = ? and subject = ?',
        [channel.id, claimed.subject],
      );
      if (message && Number(message.last_seq) > Number(claimed.seq)) {
        return this.settle(em, claimed, 'superseded', null, null);
      }
      previous = message ? { ...message.ref, lastSeq: Number(message.last_seq) } : null;
    }

    if (!(await this.waitForSlot(em, claimed, channel))) return;

    const signal = AbortSignal.any([AbortSignal.timeout(this.policy.timeoutMs), this.stopping.signal]);
    let sent: NotificationSent;
    try {
      sent = await sender.send({
        deliveryId: claimed.id,
        attempt: claimed.attempts,
        inDoubt: claimed.in_doubt,
        inDoubtSince: claimed.in_doubt ? new Date(claimed.claimed_at) : null,
        event: toNotification(event),
        channel: { id: channel.id, name: channel.name, platform: channel.platform, target, secret },
        previous: previous
          ? { messageId: previous.messageId, ...(previous.channel ? { channel: previous.channel } : {}) }
          : null,
        signal,
      });
    } catch (error) {
      return this.fail(
        em,
        claimed,
        channel,
        failureFromError(error, `${channel.platform} channel "${channel.name}"`),
        log,
      );
    }
    await this.delivered(em, claimed, channel, sent, editable);
  }

  /**
   * Our own bookkeeping failed mid-attempt (a deadlock, the database restarting): the delivery
   * goes back to be tried again, in doubt, rather than staying `sending`. If even this fails,
   * recovery takes it back once its lease has run out.
   */
  private async putBack(claimed: ClaimedRow, error: unknown): Promise<void> {
    try {
      await this.deps.orm.em.fork().transactional(async (tx) => {
        const next = new Date(Date.now() + backoffMs(this.policy, claimed.attempts));
        const moved = await run<{ id: string }>(
          tx,
          `update notification_deliveries
              set status = 'retrying', in_doubt = true, next_attempt_at = ?, last_error = ?, claimed_by = null,
                  slot_at = null, updated_at = now()
            where id = ? and status = 'sending' and claimed_by = ?
            returning id`,
          [
            next,
            `Slipway could not finish the attempt: ${(error as Error).message}`.slice(0, 1000),
            claimed.id,
            this.deps.instanceId,
          ],
        );
        if (moved.length) await this.deps.queue.deliver([{ id: claimed.id, startAfter: next }], tx);
      });
    } catch (again) {
      this.deps.logger.error(
        { err: again, deliveryId: claimed.id },
        'could not put a notification back; recovery will',
      );
    }
  }

  /** Takes the channel's next pacing slot; false when the delivery was rescheduled for it instead. */
  private async waitForSlot(em: EntityManager, claimed: ClaimedRow, channel: ChannelRow): Promise<boolean> {
    const pace = this.policy.paceMs[channel.platform] ?? this.senders.get(channel.platform)?.paceMs ?? 0;
    let slot: number;
    if (claimed.slot_at) slot = new Date(claimed.slot_at).getTime();
    else {
      const [reserved] = await run<{ slot: Date }>(
        em,
        `update notification_channels
            set next_send_at = greatest(coalesce(next_send_at, now()), now()) + make_interval(secs => ? / 1000.0)
          where id = ?
          returning next_send_at - make_interval(secs => ? / 1000.0) as slot`,
        [pace, channel.id, pace],
      );
      slot = reserved ? new Date(reserved.slot).getTime() : Date.now();
    }
    const wait = slot - Date.now();
    if (wait <= 0) return true;
    if (wait <= this.policy.maxInlineWaitMs) {
      await sleep(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (!this.stopping.signal.aborted) return true;
    }
    await this.release(em, claimed, new Date(slot));
    return false;
  }

  /** Gives the claim back with its reserved slot, and a job for that moment. */
  private async release(em: EntityManager, claimed: ClaimedRow, slot: Date): Promise<void> {
    await em.transactional(async (tx) => {
      await run(
        tx,
        `update notification_deliveries
            set status = 'pending', attempts = attempts - 1, slot_at = ?, next_attempt_at = ?, claimed_by = null,
                updated_at = now()
          where id = ? and status = 'sending' and claimed_by = ?`,
        [slot, slot, claimed.id, this.deps.instanceId],
      );
      await this.deps.queue.deliver([{ id: claimed.id, startAfter: slot }], tx);
    });
  }

  private async delivered(
    em: EntityManager,
    claimed: ClaimedRow,
    channel: ChannelRow,
    sent: NotificationSent,
    editable: boolean,
  ): Promise<void> {
    // Locks in the order fail() takes them, channel then delivery, so the two never deadlock.
    const recovered = await em.transactional(async (tx) => {
      const [row] = await run<{ was_failing: boolean }>(
        tx,
        `update notification_channels c
            set consecutive_failures = 0, failing_since = null, last_delivered_at = now(),
                next_send_at = case when ? > 0 then greatest(c.next_send_at, now() + make_interval(secs => ? / 1000.0))
                                    else c.next_send_at end
           from (select failing_since from notification_channels where id = ? for update) old
          where c.id = ?
          returning old.failing_since is not null as was_failing`,
        [sent.pauseMs ?? 0, sent.pauseMs ?? 0, channel.id, channel.id],
      );
      await this.settle(tx, claimed, 'delivered', sent.message, null);
      if (editable && claimed.subject && sent.message) {
        await run(
          tx,
          `insert into notification_messages (id, channel_id, subject, ref, last_seq, created_at, updated_at)
           values (gen_random_uuid(), ?, ?, ?::jsonb, ?, now(), now())
           on conflict (channel_id, subject) do update
              set ref = excluded.ref, last_seq = greatest(notification_messages.last_seq, excluded.last_seq),
                  updated_at = now()`,
          [channel.id, claimed.subject, JSON.stringify(sent.message), claimed.seq],
        );
      }
      if (row?.was_failing) {
        recordAudit(tx, SYSTEM_ACTOR, {
          action: 'notification_channel.recovered',
          result: 'ok',
          projectId: channel.project_id,
          targetType: 'notification_channel',
          targetId: channel.id,
        });
        await tx.flush();
      }
      return !!row?.was_failing;
    });
    if (recovered)
      this.deps.logger.info({ channelId: channel.id, name: channel.name }, 'notification channel recovered');
    this.deps.onDelivered?.(channel.platform, 'delivered');
  }

  private async fail(
    em: EntityManager,
    claimed: ClaimedRow,
    channel: ChannelRow,
    failure: NotificationSendError,
    log: Logger,
  ): Promise<void> {
    const rateLimited = failure.kind === 'rate_limited';
    const retry = failure.kind !== 'permanent' && claimed.attempts < this.policy.maxAttempts;
    const error = failure.message.slice(0, 1000);
    const becameFailing = await em.transactional(async (tx) => {
      const [state] = await run<{ consecutive_failures: number; was_failing: boolean; failing: boolean }>(
        tx,
        `update notification_channels c
            set consecutive_failures = c.consecutive_failures + ?, last_error = ?, last_error_at = now(),
                failing_since = case when c.failing_since is null and (? or c.consecutive_failures + ? >= ?)
                                     then now() else c.failing_since end
           from (select failing_since from notification_channels where id = ? for update) old
          where c.id = ?
          returning c.consecutive_failures, old.failing_since is not null as was_failing, c.failing_since is not null as failing`,
        [
          rateLimited ? 0 : 1,
          error,
          failure.kind === 'permanent',
          rateLimited ? 0 : 1,
          this.policy.failingAfter,
          channel.id,
          channel.id,
        ],
      );
      const failures = state?.consecutive_failures ?? 1;
      let delay = 0;
      if (retry) {
        delay = rateLimited
          ? (failure.details.retryAfterMs ?? 1000)
          : Math.max(backoffMs(this.policy, claimed.attempts), failure.details.retryAfterMs ?? 0);
        // The whole channel waits: Retry-After is about the channel, and a failing endpoint
        // should not be hit by every queued notification at once.
        const channelDelay = rateLimited ? delay : Math.min(delay, backoffMs(this.policy, failures));
        await run(
          tx,
          `update notification_channels
              set next_send_at = greatest(coalesce(next_send_at, now()), now() + make_interval(secs => ? / 1000.0))
            where id = ?`,
          [channelDelay, channel.id],
        );
      }
      const next = new Date(Date.now() + delay);
      await run(
        tx,
        `update notification_deliveries
            set status = ?, next_attempt_at = ?, last_error = ?, last_status = ?, slot_at = null, claimed_by = null,
                updated_at = now()
          where id = ? and status = 'sending' and claimed_by = ?`,
        [
          retry ? 'retrying' : 'failed',
          next,
          error,
          failure.details.status ?? null,
          claimed.id,
          this.deps.instanceId,
        ],
      );
      if (retry) await this.deps.queue.deliver([{ id: claimed.id, startAfter: next }], tx);
      else await this.wakeSuccessor(tx, claimed);
      const nowFailing = !!state?.failing && !state.was_failing;
      if (nowFailing) {
        recordAudit(tx, SYSTEM_ACTOR, {
          action: 'notification_channel.failing',
          result: 'failed',
          projectId: channel.project_id,
          targetType: 'notification_channel',
          targetId: channel.id,
          details: { error, consecutiveFailures: failures },
        });
        await tx.flush();
      }
      return nowFailing;
    });
    const context = { attempt: claimed.attempts, kind: failure.kind, error, status: failure.details.status };
    if (retry) log.warn(context, 'notification not delivered; will retry');
    else log.error(context, 'notification not delivered; kept as failed');
    if (becameFailing) {
      log.error(
        { channel: channel.name, platform: channel.platform, error },
        'notification channel is failing',
      );
      this.deps.onChannelFailing?.({
        channelId: channel.id,
        name: channel.name,
        platform: channel.platform,
        error,
      });
    }
    this.deps.onDelivered?.(channel.platform, retry ? 'retrying' : 'failed');
  }

  private async settle(
    em: EntityManager,
    claimed: ClaimedRow,
    status: 'delivered' | 'superseded' | 'skipped',
    message: PostedNotificationRef | null,
    error: string | null,
    wake: string[] = [],
  ): Promise<void> {
    await em.transactional(async (tx) => {
      await run(
        tx,
        `update notification_deliveries
            set status = ?, delivered_at = case when ? = 'delivered' then now() end, message = ?::jsonb,
                last_error = ?, in_doubt = false, slot_at = null, claimed_by = null, updated_at = now()
          where id = ? and status = 'sending' and claimed_by = ?`,
        [status, status, message ? JSON.stringify(message) : null, error, claimed.id, this.deps.instanceId],
      );
      if (wake.length)
        await this.deps.queue.deliver(
          wake.map((id) => ({ id })),
          tx,
        );
      else await this.wakeSuccessor(tx, claimed);
    });
  }

  /** The next open notification about the same subject in the same channel may go now. */
  private async wakeSuccessor(tx: EntityManager, claimed: ClaimedRow): Promise<void> {
    if (!claimed.subject) return;
    const next = await run<{ id: string; next_attempt_at: Date }>(
      tx,
      `select id, next_attempt_at from notification_deliveries
        where channel_id = ? and subject = ? and seq > ? and status in ('pending', 'retrying')
        order by seq limit 1`,
      [claimed.channel_id, claimed.subject, claimed.seq],
    );
    await this.deps.queue.deliver(
      next.map((row) => ({ id: row.id, startAfter: new Date(row.next_attempt_at) })),
      tx,
    );
  }
}

/**
 * Due, and not waiting for an earlier notification about the same subject in the same channel (a
 * deployment's notifications are applied in order).
 */
const claimable = (d: string) => `${d}.status in ('pending', 'retrying') and ${d}.next_attempt_at <= now()
  and not exists (select 1 from notification_deliveries e
                   where ${d}.subject is not null and e.channel_id = ${d}.channel_id and e.subject = ${d}.subject
                     and e.seq < ${d}.seq and e.status in ('pending', 'sending', 'retrying'))`;

/** An in-doubt delivery keeps the time of the attempt that may have reached the platform. */
const CLAIMED_AT = 'case when d.in_doubt and d.claimed_at is not null then d.claimed_at else now() end';

const CLAIMED_COLUMNS =
  'd.id, d.event_id, d.channel_id, d.subject, d.seq, d.attempts, d.in_doubt, d.claimed_at, d.slot_at';

function toNotification(row: EventRow): Notification {
  return {
    id: row.id,
    seq: Number(row.seq),
    type: row.type,
    projectId: row.project_id,
    project: row.project,
    subject: row.subject,
    occurredAt: new Date(row.created_at).toISOString(),
    data: row.data,
  } as Notification;
}

async function run<T = unknown>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}
