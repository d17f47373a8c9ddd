import type { Logger } from '../logger.js';
import type { ChatAdapter, ChatHost, Responder } from './adapter.js';
import type { ChatServices, Command, ParsedCommand } from './command.js';
import type { Action, CommandResult, Invocation, PostedMessage } from './model.js';
import { PipelineProgress } from './pipeline-progress.js';
import { ProgressNotifier } from './progress.js';
import { ChatRouter, type ParseOutcome } from './router.js';

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

  constructor(commands: readonly Command[], services: ChatServices, logger: Logger) {
    this.router = new ChatRouter(commands, services, logger, {
      mention: (invoker, token) => this.adapters.get(invoker.platform)?.mention(invoker, token) ?? null,
    });
    this.notifier = new ProgressNotifier(services.views, services.approvals, logger);
    this.pipelineNotifier = new PipelineProgress(services.executions, logger);
  }

  get commands(): readonly Command[] {
    return this.router.commands;
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

  parse(invocation: Pick<Invocation, 'command' | 'text'>): ParseOutcome {
    return this.router.parse(invocation);
  }

  async run(parsed: ParsedCommand, invocation: Invocation, responder: Responder) {
    return this.deliver(await this.router.run(parsed, invocation), responder);
  }

  async invoke(invocation: Invocation, responder: Responder) {
    return this.deliver(await this.router.dispatch(invocation), responder);
  }

  async click(action: Action, responder: Responder) {
    return this.deliver(await this.router.action(action), responder);
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
