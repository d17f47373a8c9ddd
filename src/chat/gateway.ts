import type { Logger } from '../logger.js';
import type { ChatPlatform } from '../vocabulary.js';
import type { ChatAdapter, ChatHost, ConsoleSessions, Responder } from './adapter.js';
import type { ChatServices, Command, ParsedCommand } from './command.js';
import type { Action, ChatUser, CommandResult, Invocation, PostedMessage, Reply } from './model.js';
import { PipelineProgress } from './pipeline-progress.js';
import { ProgressNotifier } from './progress.js';
import { DECISION_COMMANDS, deploymentReply } from './replies.js';
import { ChatRouter, type InputErrorReader, type ParseOutcome } from './router.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Chat's side of every adapter: the router that runs commands and clicks, the notifier that
 * keeps deployment messages up to date, and the adapters themselves, which it asks for their
 * platform's mention syntax and to edit their messages. Adapters see it as a ChatHost.
 */
export class ChatGateway implements ChatHost {
  readonly router: ChatRouter;
  readonly notifier: ProgressNotifier;
  readonly pipelineNotifier: PipelineProgress;
  private readonly adapters = new Map<string, ChatAdapter>();

  constructor(
    commands: readonly Command[],
    private readonly services: ChatServices,
    logger: Logger,
    options: { inputError?: InputErrorReader } = {},
  ) {
    this.router = new ChatRouter(commands, services, logger, {
      mention: (invoker, token) => this.adapters.get(invoker.platform)?.mention(invoker, token) ?? null,
      spell: (platform, command) => this.adapters.get(platform)?.spell(command) ?? `/${command}`,
      ...(options.inputError ? { inputError: options.inputError } : {}),
    });
    this.notifier = new ProgressNotifier(services.views, services.messages, logger);
    this.pipelineNotifier = new PipelineProgress(services.executions, logger);
  }

  get commands(): readonly Command[] {
    return this.router.commands;
  }

  get consoleSessions(): ConsoleSessions {
    return this.services.consoleSignIn;
  }

  /** Takes an adapter in: its mentions are read and its messages kept up to date from now on. */
  attach(adapter: ChatAdapter): void {
    this.adapters.set(adapter.platform, adapter);
    this.notifier.register({ platform: adapter.platform, update: (m, reply) => adapter.update(m, reply) });
    this.pipelineNotifier.register({
      platform: adapter.platform,
      update: (m, reply) => adapter.update(m, reply),
    });
  }

  adapter(platform: string): ChatAdapter | undefined {
    return this.adapters.get(platform);
  }

  /** Each adapter's standing with its platform, by platform. */
  health(): Record<string, ReturnType<ChatAdapter['health']>> {
    return Object.fromEntries([...this.adapters].map(([platform, adapter]) => [platform, adapter.health()]));
  }

  firstTime(key: string, ttlSeconds: number): Promise<boolean> {
    return this.services.inbound.firstTime(key, ttlSeconds);
  }

  approvers(deploymentId: string, platform: ChatPlatform): Promise<ChatUser[]> {
    return this.services.approvals.approvers(deploymentId, platform);
  }

  async deploymentReply(deploymentId: string, shownIn: PostedMessage): Promise<Reply | null> {
    if (!UUID.test(deploymentId)) return null;
    const shown = await this.services.messages.of(deploymentId);
    const known = shown.some(
      (message) => message.platform === shownIn.platform && message.messageId === shownIn.messageId,
    );
    return known ? deploymentReply(await this.services.views.deployment(deploymentId)) : null;
  }

  async suggest(
    user: ChatUser,
    what: 'project' | 'environment',
    typed: string,
    project?: string,
  ): Promise<string[]> {
    // The member behind the identity (cached for a minute), then one query limited to what they may view.
    const { memberId } = await this.services.access.resolve(user);
    const { names } = this.services;
    if (what === 'project') return names.projects(memberId, typed);
    return project ? names.environments(memberId, project, typed) : [];
  }

  parse(invocation: Pick<Invocation, 'command' | 'text'>): ParseOutcome {
    return this.router.parse(invocation);
  }

  async run(parsed: ParsedCommand, invocation: Invocation, responder: Responder) {
    return this.deliver(await this.router.run(parsed, invocation), responder);
  }

  answer(parsed: ParsedCommand, invocation: Invocation): Promise<CommandResult> {
    return this.router.instant(parsed, invocation);
  }

  async invoke(invocation: Invocation, responder: Responder) {
    return this.deliver(await this.router.dispatch(invocation), responder);
  }

  async click(action: Action, responder: Responder) {
    const result = await this.router.action(action);
    // A decision refused because the request is closed (it expired just now, someone rejected it)
    // leaves a card offering buttons that cannot work: bring its messages up to date.
    if (result.reply.ephemeral && DECISION_COMMANDS.has(action.actionId) && UUID.test(action.value)) {
      this.notifier.notify(action.value);
    }
    return this.deliver(result, responder);
  }

  /**
   * A result goes where it belongs: privately, in place of the clicked message, or as a new
   * message; a message that shows a deployment is then kept up to date as it runs.
   */
  private async deliver(result: CommandResult, responder: Responder): Promise<PostedMessage | null> {
    if (result.reply.ephemeral) return responder.privately(result.reply);
    const posted =
      result.replaceOriginal && responder.replace
        ? await responder.replace(result.reply)
        : await responder.post(result.reply);
    if (result.track && posted) await this.notifier.posted(result.track, posted);
    if (result.trackExecution && posted) await this.pipelineNotifier.posted(result.trackExecution, posted);
    return posted;
  }
}
