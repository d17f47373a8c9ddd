import { z } from 'zod';
import { defineCommand, nameArg, parseDuration, positional } from '../src/chat/command.js';
import type { ReplyField } from '../src/chat/model.js';
import { utc } from '../src/chat/replies.js';
import {
  HEARTBEAT_INTERVALS,
  type HeartbeatInput,
  type HeartbeatView,
} from '../src/core/heartbeats/index.js';
import { SlipwayError } from '../src/errors.js';

/** Words people type for Envoyer's intervals. */
const INTERVAL_WORDS: Record<string, number> = {
  '10m': 10,
  '30m': 30,
  '60m': 60,
  '1h': 60,
  hourly: 60,
  '24h': 1440,
  '1d': 1440,
  daily: 1440,
  '7d': 10080,
  '1w': 10080,
  weekly: 10080,
  '31d': 44640,
  '1mo': 44640,
  monthly: 44640,
};

const heartbeatName = z
  .string({ error: '<name> is missing' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:()/-]{0,99}$/, '<name> must be a name like "nightly-backup"');
const project = z.object({ project: nameArg('<project>') });
const list = positional(['project'], project);
const remove = positional(['project', 'name'], project.extend({ name: heartbeatName }));

type HeartbeatArgs =
  | { sub: 'list'; project: string }
  | { sub: 'remove'; project: string; name: string }
  | { sub: 'add'; project: string; name: string; input: HeartbeatInput };

/** `add <project> <name> <interval | cron…> [grace <duration>] [tz <zone>]` → a create input. */
function add(tokens: readonly string[]): HeartbeatArgs {
  const [projectToken, nameToken, ...rest] = tokens;
  const head = project.extend({ name: heartbeatName }).safeParse({ project: projectToken, name: nameToken });
  if (!head.success) throw new SlipwayError('invalid_input', `${head.error.issues[0]?.message}.`);
  const words = [...rest];
  let graceMinutes: number | undefined;
  let timezone: string | undefined;
  for (let i = words.length - 2; i >= 0; i--) {
    const keyword = words[i]?.toLowerCase();
    const value = words[i + 1] ?? '';
    if (keyword === 'grace') {
      const minutes = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
      if (minutes === null || minutes > 44640) {
        throw new SlipwayError(
          'invalid_input',
          `"${value}" is not a grace period: use minutes, or 15m, 2h, 1d.`,
        );
      }
      graceMinutes = minutes;
      words.splice(i, 2);
    } else if (keyword === 'tz' || keyword === 'in') {
      timezone = value;
      words.splice(i, 2);
    }
  }
  const schedule = words.join(' ').trim();
  if (!schedule) {
    throw new SlipwayError(
      'invalid_input',
      `<schedule> is missing: an interval (${HEARTBEAT_INTERVALS.join(', ')} minutes, or 10m, 1h, daily, weekly, monthly) or a cron expression such as "0 3 * * *".`,
    );
  }
  const minutes = /^\d+$/.test(schedule) ? Number(schedule) : INTERVAL_WORDS[schedule.toLowerCase()];
  const input: HeartbeatInput = { name: head.data.name };
  if (minutes !== undefined) {
    if (!(HEARTBEAT_INTERVALS as readonly number[]).includes(minutes)) {
      throw new SlipwayError(
        'invalid_input',
        `${minutes} minutes is not one of the intervals ${HEARTBEAT_INTERVALS.join(', ')}; for anything else give a cron expression.`,
      );
    }
    input.interval = minutes as HeartbeatInput['interval'];
  } else {
    input.cron = schedule;
    if (timezone) input.timezone = timezone;
  }
  if (graceMinutes !== undefined) input.graceMinutes = graceMinutes;
  return { sub: 'add', project: head.data.project, name: head.data.name, input };
}

const grammar = (tokens: readonly string[]): HeartbeatArgs => {
  const [sub, ...rest] = tokens;
  if (sub === 'list') return { sub, ...list(rest) };
  if (sub === 'add') return add(rest);
  if (sub === 'remove' || sub === 'delete') return { sub: 'remove', ...remove(rest) };
  throw new SlipwayError(
    'invalid_input',
    sub ? `Unknown subcommand "${sub.slice(0, 40)}": use list, add or remove.` : 'Say list, add or remove.',
  );
};

const DOT: Record<HeartbeatView['status'], string> = { new: '⚪', healthy: '🟢', missing: '🔴' };

function describe(h: HeartbeatView): string {
  const parts = [
    `${DOT[h.status]} *${h.name}* — ${h.status}${h.alertHeld ? ' (alert held: deploying)' : ''}`,
    h.schedule,
  ];
  parts.push(h.lastCheckInAt ? `last check-in ${utc(h.lastCheckInAt)}` : 'never checked in');
  if (h.status !== 'missing' && h.nextDueAt) parts.push(`due by ${utc(h.nextDueAt)}`);
  return `${parts.join(' · ')}\n      ${h.pingUrl}`;
}

export default defineCommand(grammar, {
  name: 'heartbeat',
  summary: 'List, add or remove heartbeats: cron jobs that must check in on time',
  usage: [
    'heartbeat list <project>',
    'heartbeat add <project> <name> <interval|cron> [grace <duration>] [tz <zone>]',
    'heartbeat remove <project> <name>',
  ],
  examples: [
    'heartbeat add api nightly-backup "30 2 * * *" grace 30m tz Europe/Paris',
    'heartbeat add api queue-worker 10',
  ],
  role: 'viewer',
  project: (args) => args.project,
  roleFor: (args) => (args.sub === 'list' ? 'viewer' : 'deployer'),
  handler: async (ctx, args) => {
    const { heartbeats } = ctx.services;
    if (args.sub === 'list') {
      const rows = await heartbeats.list(args.project);
      return {
        reply: {
          title: `Heartbeats of ${args.project}`,
          text: rows.length
            ? rows.map(describe).join('\n')
            : `No heartbeats yet. Add one: /heartbeat add ${args.project} <name> <interval|cron>`,
          status: rows.some((h) => h.status === 'missing') ? 'warning' : 'info',
          footer: 'Ping URLs are secrets: GET or POST them from your job; add /fail to report a failure.',
          // The ping URLs are credentials: only the person who asked sees them.
          ephemeral: true,
        },
      };
    }
    if (args.sub === 'add') {
      const h = await heartbeats.create(ctx.actor, args.project, args.input);
      const fields: ReplyField[] = [
        { label: 'Schedule', value: h.schedule },
        { label: 'Ping URL', value: h.pingUrl },
        { label: 'Report a failure', value: h.failUrl },
      ];
      if (h.nextDueAt) fields.push({ label: 'First check-in due by', value: utc(h.nextDueAt) });
      return {
        reply: {
          title: `Heartbeat ${h.project}/${h.name} added`,
          text: `Have the job call its ping URL when it succeeds, e.g. \`… && curl -fsS -m 10 --retry 3 ${h.pingUrl}\`. Slipway alerts this project's channels when a check-in is late.`,
          status: 'success',
          fields,
          ephemeral: true,
        },
      };
    }
    const removed = await heartbeats.remove(ctx.actor, args.project, args.name);
    return {
      reply: {
        text: `Heartbeat ${removed.project}/${removed.name} removed; its ping URL no longer works.`,
        status: 'success',
      },
    };
  },
});
