import type { Actor } from '../core/access/index.js';
import { isSlipwayError, type SlipwayError } from '../errors.js';
import { textProblem } from '../input-text.js';
import type { Logger } from '../logger.js';
import type { ChatServices, Command, CommandContext, ParsedCommand } from './command.js';
import { tokenize } from './command.js';
import type { Action, ChatUser, CommandResult, Invocation } from './model.js';
import { errorReply } from './replies.js';

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

/** A mention in the invoker's platform's syntax → the person mentioned, or null (each adapter's own). */
export type MentionReader = (invoker: ChatUser, token: string) => ChatUser | null;

/** How a command is typed on a platform: `/deploy` on Slack, `/slipway rollback` where it has no slash command. */
export type CommandSpeller = (platform: string, command: string) => string;

const SLASH: CommandSpeller = (_platform, command) => `/${command}`;

/** A usage line (`deploy <project> <env>`) as typed on a platform (`/deploy <project> <env>`). */
export function spellUsage(usage: string, spell: (command: string) => string): string {
  const [name = '', ...rest] = usage.split(' ');
  return [spell(name), ...rest].join(' ');
}
/** An error the layers below raised because of the input, as the SlipwayError it stands for. */
export type InputErrorReader = (error: unknown) => SlipwayError | undefined;

export type ParseOutcome = { ok: true; parsed: ParsedCommand } | { ok: false; result: CommandResult };

/**
 * One way in: every adapter hands invocations and clicks to the router, which parses them with
 * the command files' grammars, resolves the member, checks the role and runs the handler. It
 * always answers with a reply; domain errors become a specific, private message.
 */
export class ChatRouter {
  private readonly byName: Map<string, Command>;
  private readonly limiter: WorkLimiter;

  private readonly mention: MentionReader;
  private readonly spell: CommandSpeller;
  private readonly inputError: InputErrorReader;

  constructor(
    readonly commands: readonly Command[],
    private readonly services: ChatServices,
    private readonly logger: Logger,
    options: {
      concurrency?: number;
      mention?: MentionReader;
      spell?: CommandSpeller;
      inputError?: InputErrorReader;
    } = {},
  ) {
    this.byName = new Map(commands.map((c) => [c.name, c]));
    this.limiter = new WorkLimiter(options.concurrency ?? 8);
    this.mention = options.mention ?? (() => null);
    this.spell = options.spell ?? SLASH;
    this.inputError = options.inputError ?? (() => undefined);
  }

  /** Synchronous and cheap, so adapters can answer bad input inside the platform's ack. Never throws. */
  parse(invocation: Pick<Invocation, 'command' | 'text'> & { user?: ChatUser }): ParseOutcome {
    const platform = invocation.user?.platform ?? '';
    return parseInvocation(this.commands, invocation, this.byName, (command) =>
      this.spell(platform, command),
    );
  }

  async run(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    return this.limiter.run(() => this.runNow(parsed, invocation));
  }

  private async runNow(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    try {
      const actor = await this.services.access.resolve(invocation.user);
      if (parsed.role) {
        await this.services.access.require(
          actor,
          parsed.project,
          parsed.role,
          parsed.command.roleReason ?? undefined,
        );
      }
      return await parsed.run(this.context(actor, invocation));
    } catch (error) {
      return this.failure(error, parsed.command.name, invocation.user.platform);
    }
  }

  /**
   * A command that answers from the command files alone (`instant`): run at once, with no member
   * looked up and no queue, so the answer fits in the platform's ack whatever else is down.
   */
  async instant(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    if (!parsed.command.instant) throw new Error(`${parsed.command.name} is not an instant command`);
    const actor = { memberId: null, name: invocation.user.displayName, source: invocation.user.platform };
    try {
      return await parsed.run(this.context(actor, invocation));
    } catch (error) {
      return this.failure(error, parsed.command.name, invocation.user.platform);
    }
  }

  async dispatch(invocation: Invocation): Promise<CommandResult> {
    const outcome = this.parse(invocation);
    return outcome.ok ? this.run(outcome.parsed, invocation) : outcome.result;
  }

  /**
   * A button click: the button names a command and carries its arguments, so the click goes
   * through the same grammar, role check and handler as the words typed. Refusals come back
   * ephemeral; a command that says so replaces the message its button was on.
   */
  async action(action: Action): Promise<CommandResult> {
    const invocation: Invocation = {
      user: action.user,
      conversation: action.conversation,
      command: action.actionId,
      text: action.value,
    };
    const outcome = this.parse(invocation);
    if (!outcome.ok) return outcome.result;
    const result = await this.run(outcome.parsed, invocation);
    if (outcome.parsed.command.replacesClickedMessage && !result.reply.ephemeral) {
      return { ...result, replaceOriginal: true };
    }
    return result;
  }

  private context(actor: Actor, invocation: Invocation): CommandContext {
    return {
      actor,
      invocation,
      services: this.services,
      commands: this.commands,
      mention: (token) => this.mention(invocation.user, token),
      spell: (command) => this.spell(invocation.user.platform, command),
    };
  }

  private failure(thrown: unknown, what: string, platform: string): CommandResult {
    const error = isSlipwayError(thrown) ? thrown : (this.inputError(thrown) ?? thrown);
    if (isSlipwayError(error)) {
      const command = this.byName.get(what);
      const usage =
        error.code === 'invalid_input' && command
          ? command.usage.map((line) => spellUsage(line, (name) => this.spell(platform, name)))
          : undefined;
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
  spell: (command: string) => string = (command) => `/${command}`,
): ParseOutcome {
  // Refused before anything reads it, like the REST API does (PostgreSQL cannot store either).
  const problem = textProblem(`${invocation.command ?? ''} ${invocation.text ?? ''}`);
  if (problem) {
    return {
      ok: false,
      result: { reply: errorReply(`That command ${problem}; type it again without it.`) },
    };
  }
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
          [spellUsage('help', spell)],
        ),
      },
    };
  }
  try {
    return { ok: true, parsed: command.parse(tokens) };
  } catch (error) {
    const message = isSlipwayError(error) ? error.message : 'That command could not be read.';
    return {
      ok: false,
      result: {
        reply: errorReply(
          message,
          command.usage.map((line) => spellUsage(line, spell)),
        ),
      },
    };
  }
}
