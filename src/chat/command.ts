import { z } from 'zod';
import type {
  AccessPolicy,
  Actor,
  ChatIdentityRef,
  ConsoleSignIn,
  InboundLedger,
} from '../core/access/index.js';
import type { ApprovalService } from '../core/approvals/index.js';
import type {
  DeploymentMessages,
  DeploymentService,
  DeploymentViews,
  LockService,
} from '../core/deployments/index.js';
import type { HeartbeatService } from '../core/heartbeats/index.js';
import type { PipelineExecutions, PipelineService, PipelineView } from '../core/pipelines/index.js';
import type { NameSuggestions } from '../core/projects/index.js';
import type { PromotionService } from '../core/promotions/index.js';
import { SlipwayError } from '../errors.js';
import { DEPLOYMENT_NUMBER_PATTERN, isUuid, type Role } from '../vocabulary.js';
import type { ChatUser, CommandResult, Invocation } from './model.js';

/** The core services commands call. */
export interface ChatServices {
  deployments: DeploymentService;
  approvals: ApprovalService;
  locks: LockService;
  access: AccessPolicy;
  views: DeploymentViews;
  /** The chat messages showing each deployment, kept current by the progress notifier. */
  messages: DeploymentMessages;
  heartbeats: HeartbeatService;
  promotions: PromotionService;
  /** Which signed inbound requests were already acted on (replays and retries run once). */
  inbound: InboundLedger;
  /** One-time sign-in links to the web console, for the identity that asks. */
  consoleSignIn: ConsoleSignIn;
  /** Project and environment names offered while someone types (Discord's autocomplete). */
  names: NameSuggestions;
  /** Pipelines (Escape's): definitions, runs, and the view `status` shows. */
  pipelines: PipelineService;
  executions: PipelineExecutions;
  pipeline: PipelineView;
}

export interface CommandContext {
  actor: Actor;
  invocation: Invocation;
  services: ChatServices;
  commands: readonly Command[];
  /** A mention in the invoker's platform's syntax (`<@U123>` on Slack) → that person's identity. */
  mention(token: string): ChatIdentityRef | null;
  /** How a command is typed on the invoker's platform (`/deploy`, `/slipway rollback`). */
  spell(command: string): string;
}

/** A command after parsing: its arguments are closed over, so the list of commands needs no generics. */
export interface ParsedCommand {
  command: Command;
  /** The project the role check applies to (null: a global check). */
  project: string | null;
  /** The role needed for these arguments (null: anyone). */
  role: Role | null;
  run(ctx: CommandContext): Promise<CommandResult>;
}

export interface Command {
  name: string;
  summary: string;
  /** Usage lines without the leading slash, e.g. `deploy <project> <env> [ref]`. */
  usage: readonly string[];
  examples: readonly string[];
  /** The base role, shown in help; `roleFor` may raise it for some arguments. */
  role: Role | null;
  /** Gets its own slash command on platforms with slash commands (Slack's /deploy, /promote). */
  slash: boolean;
  /** What the role check says the role is needed for (`roll back`), when not the role's usual verb. */
  roleReason: string | null;
  /** As a button, its reply replaces the message the button was on (approve, reject, cancel). */
  replacesClickedMessage: boolean;
  /**
   * Answers from the command files alone (help): no member, no database, no platform call, so
   * adapters answer it inside the platform's ack even while the platform's API or the
   * database is down.
   */
  instant: boolean;
  /** Throws SlipwayError('invalid_input') or a ZodError on bad input. */
  parse(tokens: readonly string[]): ParsedCommand;
}

export interface CommandSpec<A> {
  name: string;
  summary: string;
  usage: readonly string[];
  examples?: readonly string[];
  role: Role | null;
  slash?: boolean;
  roleReason?: string;
  replacesClickedMessage?: boolean;
  instant?: boolean;
  project?: (args: A) => string | null;
  roleFor?: (args: A) => Role | null;
  handler: (ctx: CommandContext, args: A) => Promise<CommandResult>;
}

/** A command from its grammar (tokens → arguments, zod-validated) and the rest of its spec. */
export function defineCommand<A>(grammar: (tokens: readonly string[]) => A, spec: CommandSpec<A>): Command {
  const command: Command = {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    examples: spec.examples ?? [],
    role: spec.role,
    slash: spec.slash ?? false,
    roleReason: spec.roleReason ?? null,
    replacesClickedMessage: spec.replacesClickedMessage ?? false,
    instant: spec.instant ?? false,
    parse(tokens) {
      const args = grammar(tokens);
      return {
        command,
        project: spec.project?.(args) ?? null,
        role: spec.roleFor ? spec.roleFor(args) : spec.role,
        run: (ctx) => spec.handler(ctx, args),
      };
    },
  };
  return command;
}

// ── grammar helpers ─────────────────────────────────────────────────────────────────────────

export const nameArg = (what: string) =>
  z
    .string({ error: `${what} is missing` })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, `${what} must be a name like "api" (letters, digits, . _ -)`);

export const refArg = z.string().min(1).max(255);

/** A deployment by its number (`42`, `#42`) or its id. */
export const deploymentArg = z
  .string({ error: '<deployment> is missing' })
  .transform((value) => value.replace(/^#/, ''))
  .refine(
    (value) => DEPLOYMENT_NUMBER_PATTERN.test(value) || isUuid(value),
    '<deployment> must be a deployment number like 42',
  );

/**
 * Maps tokens onto names in order (`name?` is optional, a trailing `name...` takes the rest
 * joined by spaces) and validates the object with `schema`.
 */
export function positional<S extends z.ZodType>(
  names: readonly string[],
  schema: S,
): (tokens: readonly string[]) => z.output<S> {
  return (tokens) => {
    const record: Record<string, string> = {};
    let i = 0;
    for (const raw of names) {
      const rest = raw.endsWith('...');
      const name = raw.replace(/[?.]+$/, '');
      if (rest) {
        if (i < tokens.length) record[name] = tokens.slice(i).join(' ');
        i = tokens.length;
        break;
      }
      const token = tokens[i];
      if (token === undefined) {
        if (!raw.endsWith('?')) throw new SlipwayError('invalid_input', `<${name}> is missing.`);
        continue;
      }
      record[name] = token;
      i++;
    }
    if (i < tokens.length) {
      throw new SlipwayError('invalid_input', `Unexpected "${tokens.slice(i).join(' ')}".`);
    }
    const parsed = schema.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SlipwayError('invalid_input', `${issue?.message ?? 'invalid input'}.`);
    }
    return parsed.data;
  };
}

/** Splits command text into tokens; "double", “curly” and 'single' quotes group words. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"([^"]*)"|“([^”]*)”|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
  }
  return tokens;
}

/** `30m`, `2h`, `1d`, `45` (minutes) → minutes. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,6})\s*(m|min|mins|minutes?|h|hours?|d|days?)?$/i.exec(text.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = (match[2] ?? 'm').toLowerCase()[0];
  const minutes = unit === 'h' ? amount * 60 : unit === 'd' ? amount * 1440 : amount;
  return minutes >= 1 && minutes <= 30 * 1440 ? minutes : null;
}

export function displayUser(user: ChatUser): string {
  return user.displayName || user.userId;
}
