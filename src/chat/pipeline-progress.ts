import type { PipelineExecutions } from '../core/pipelines/index.js';
import type { Logger } from '../logger.js';
import type { MessageUpdater, PostedMessage } from './model.js';
import { executionReply } from './pipeline-replies.js';

/**
 * Keeps the chat messages that show a pipeline run up to date, edited in place: the card that
 * answered `/promote api`, and the ones its buttons replaced. The messages are stored with the
 * run, so a card is still updated after a restart or by another replica. Updates are coalesced
 * per run (one in flight, then the latest state).
 */
export class PipelineProgress {
  private readonly updaters = new Map<string, MessageUpdater>();
  private readonly pumps = new Map<string, { dirty: boolean; running: Promise<void> | null }>();

  constructor(
    private readonly executions: PipelineExecutions,
    private readonly logger: Logger,
  ) {}

  register(updater: MessageUpdater): void {
    this.updaters.set(updater.platform, updater);
  }

  async posted(executionId: string, message: PostedMessage): Promise<void> {
    await this.executions.attachMessage(executionId, message).catch((error: unknown) => {
      this.logger.warn({ err: error, executionId }, 'could not remember a pipeline message');
    });
    this.notify(executionId);
  }

  notify(executionId: string): void {
    const pump = this.pumps.get(executionId) ?? { dirty: false, running: null };
    pump.dirty = true;
    this.pumps.set(executionId, pump);
    if (!pump.running) pump.running = this.pump(executionId, pump);
  }

  /** Resolves when no update for the run is pending (tests, shutdown). */
  async settled(executionId: string): Promise<void> {
    for (;;) {
      const pump = this.pumps.get(executionId);
      if (!pump?.running) return;
      await pump.running;
    }
  }

  private async pump(executionId: string, pump: { dirty: boolean; running: Promise<void> | null }) {
    try {
      while (pump.dirty) {
        pump.dirty = false;
        await this.render(executionId);
      }
    } finally {
      pump.running = null;
      this.pumps.delete(executionId);
    }
  }

  private async render(executionId: string): Promise<void> {
    try {
      const messages = await this.executions.messagesOf(executionId);
      if (!messages.length) return;
      const reply = executionReply(await this.executions.snapshot(executionId));
      await Promise.all(
        messages.map(async (message) => {
          const updater = this.updaters.get(message.platform);
          await updater?.update(message, reply).catch((error: unknown) => {
            this.logger.warn({ err: error, executionId, message }, 'could not update a pipeline message');
          });
        }),
      );
    } catch (error) {
      this.logger.warn({ err: error, executionId }, 'could not render pipeline progress');
    }
  }
}
