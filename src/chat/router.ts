import type { Actor } from '../core/access/index.js';
import { isSlipwayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChatServices, Command, CommandContext, ParsedCommand } from './command.js';
import { tokenize } from './command.js';
import type { Action, ChatUser, CommandResult, Invocation } from './model.js';
import { deploymentReply, errorReply } from './replies.js';

/**
 * At most `max` commands do their work at once; the rest wait their turn in a queue. Under a
 * burst, the event loop then holds a few commands' callbacks instead of thousands, so new
 * requests are still acked at once (the platforms' deadline) while the work catches up.
 */
export class WorkLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export type ParseOutcome = { ok: true; parsed: ParsedCommand } | { ok: false; result: CommandResult };

/**
 * One way in: every adapter hands invocations and clicks to the router, which parses them with
 * the command files' grammars, resolves the member, checks the role and runs the handler. It
 * always answers with a reply; domain errors become a specific, private message.
 */
export class ChatRouter {
  private readonly byName: Map<string, Command>;
  private readonly limiter: WorkLimiter;

  constructor(
    readonly commands: readonly Command[],
    private readonly services: ChatServices,
    private readonly logger: Logger,
    options: { concurrency?: number } = {},
  ) {
    this.byName = new Map(commands.map((c) => [c.name, c]));
    this.limiter = new WorkLimiter(options.concurrency ?? 8);
  }

  /** Synchronous and cheap, so adapters can answer bad input inside the platform's ack. Never throws. */
  parse(invocation: Pick<Invocation, 'command' | 'text'>): ParseOutcome {
    return parseInvocation(this.commands, invocation, this.byName);
  }

  async run(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    return this.limiter.run(() => this.runNow(parsed, invocation));
  }

  private async runNow(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    try {
      const actor = await this.services.access.resolve(invocation.user);
      if (parsed.role) await this.services.access.require(actor, parsed.project, parsed.role);
      return await parsed.run(this.context(actor, invocation));
    } catch (error) {
      return this.failure(error, parsed.command.name);
    }
  }

  async dispatch(invocation: Invocation): Promise<CommandResult> {
    const outcome = this.parse(invocation);
    return outcome.ok ? this.run(outcome.parsed, invocation) : outcome.result;
  }

  /** A button click. Refusals come back ephemeral; accepted clicks show the updated deployment. */
  async action(action: Action): Promise<CommandResult> {
    return this.limiter.run(() => this.actionNow(action));
  }

  private async actionNow(action: Action): Promise<CommandResult> {
    try {
      const actor = await this.services.access.resolve(action.user);
      const { approvals, deployments, views, access } = this.services;
      switch (action.actionId) {
        case 'deployment.approve':
        case 'deployment.reject': {
          await approvals.decide(
            actor,
            action.value,
            action.actionId === 'deployment.approve' ? 'approve' : 'reject',
          );
          const view = await views.deployment(action.value);
          return { reply: deploymentReply(view), track: view.id, replaceOriginal: true };
        }
        case 'deployment.cancel': {
          const view = await views.deployment(action.value);
          await access.require(actor, view.project, 'deployer', 'cancel deployments');
          await deployments.cancel(actor, action.value);
          const after = await views.deployment(action.value);
          return { reply: deploymentReply(after), track: after.id, replaceOriginal: true };
        }
        case 'deployment.rollback': {
          const view = await views.deployment(action.value);
          await access.require(actor, view.project, 'deployer', 'roll back');
          const rollback = await deployments.requestRollback(actor, {
            project: view.project,
            environment: view.environment,
          });
          const created = await views.deployment(rollback.id);
          return { reply: deploymentReply(created), track: created.id };
        }
      }
    } catch (error) {
      return this.failure(error, action.actionId);
    }
  }

  private context(actor: Actor, invocation: Invocation): CommandContext {
    return {
      actor,
      invocation,
      services: this.services,
      commands: this.commands,
      mention: (token) => parseMention(invocation.user, token),
    };
  }

  private failure(error: unknown, what: string): CommandResult {
    if (isSlipwayError(error)) {
      const command = this.byName.get(what);
      const usage = error.code === 'invalid_input' && command ? command.usage : undefined;
      return { reply: errorReply(error.message, usage) };
    }
    this.logger.error({ err: error, what }, 'chat command failed');
    return { reply: errorReply('Something went wrong on our side; it has been logged.') };
  }
}

/**
 * Text → a parsed command, or the private reply that says what was wrong and the usage line.
 * Never throws, whatever the text.
 */
export function parseInvocation(
  commands: readonly Command[],
  invocation: Pick<Invocation, 'command' | 'text'>,
  byName: ReadonlyMap<string, Command> = new Map(commands.map((c) => [c.name, c])),
): ParseOutcome {
  let tokens: string[];
  let name: string | undefined;
  try {
    tokens = tokenize(invocation.text ?? '');
    name = invocation.command && invocation.command !== 'slipway' ? invocation.command : tokens.shift();
  } catch {
    return { ok: false, result: { reply: errorReply('That command could not be read.') } };
  }
  const command = name ? byName.get(name.toLowerCase()) : byName.get('help');
  if (!command) {
    return {
      ok: false,
      result: {
        reply: errorReply(
          `There is no command "${String(name).slice(0, 40)}". Commands: ${commands.map((c) => c.name).join(', ')}.`,
          ['slipway help'],
        ),
      },
    };
  }
  try {
    return { ok: true, parsed: command.parse(tokens) };
  } catch (error) {
    const message = isSlipwayError(error) ? error.message : 'That command could not be read.';
    return { ok: false, result: { reply: errorReply(message, command.usage) } };
  }
}

/** `<@U123>` / `<@U123|name>` (Slack), `@name` or `name` (console) → an identity on the invoker's platform. */
export function parseMention(
  invoker: ChatUser,
  token: string,
): { platform: ChatUser['platform']; workspace: string; userId: string; displayName: string } | null {
  const slack = /^<@([A-Z0-9]+)(?:\|([^>]*))?>$/.exec(token);
  if (slack?.[1]) {
    return {
      platform: invoker.platform,
      workspace: invoker.workspace,
      userId: slack[1],
      displayName: slack[2] ?? slack[1],
    };
  }
  const plain = /^@?([A-Za-z0-9._-]{1,80})$/.exec(token);
  if (plain?.[1]) {
    return {
      platform: invoker.platform,
      workspace: invoker.workspace,
      userId: plain[1],
      displayName: plain[1],
    };
  }
  return null;
}
