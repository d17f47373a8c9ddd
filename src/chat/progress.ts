import type { ApprovalService } from '../core/approvals/index.js';
import type { DeploymentViews } from '../core/deployments/index.js';
import type { Logger } from '../logger.js';
import type { MessageUpdater, PostedMessage } from './model.js';
import { deploymentReply } from './replies.js';

const ENDED = new Set(['finished', 'failed', 'cancelled', 'rejected', 'expired']);

/**
 * Keeps every message that shows a deployment up to date: one message edited in place
 * (queued → running step k/n → finished / failed with the log tail). Updates are coalesced per
 * deployment (at most one in flight, then the latest state), so a burst of step events costs a
 * few edits, within the platforms' rate limits. Messages of approval cards are stored with the
 * approval request; others are remembered in this process.
 */
export class ProgressNotifier {
  private readonly updaters = new Map<string, MessageUpdater>();
  private readonly tracked = new Map<string, PostedMessage[]>();
  private readonly pumps = new Map<string, { dirty: boolean; running: Promise<void> | null }>();

  constructor(
    private readonly views: DeploymentViews,
    private readonly approvals: ApprovalService,
    private readonly logger: Logger,
    private readonly minIntervalMs = 400,
  ) {}

  register(updater: MessageUpdater): void {
    this.updaters.set(updater.platform, updater);
  }

  track(deploymentId: string, message: PostedMessage): void {
    const list = this.tracked.get(deploymentId) ?? [];
    if (!list.some((m) => m.platform === message.platform && m.messageId === message.messageId))
      list.push(message);
    this.tracked.set(deploymentId, list);
  }

  /**
   * An adapter posted (or edited) a message showing the deployment: remember it (with the
   * approval request too, so approval cards survive a restart) and bring it up to date.
   */
  async posted(deploymentId: string, message: PostedMessage): Promise<void> {
    this.track(deploymentId, message);
    await this.approvals.attachMessage(deploymentId, message).catch((error: unknown) => {
      this.logger.warn({ err: error, deploymentId }, 'could not remember an approval message');
    });
    this.notify(deploymentId);
  }

  /** Something about the deployment changed; its messages will show it shortly. */
  notify(deploymentId: string): void {
    const pump = this.pumps.get(deploymentId) ?? { dirty: false, running: null };
    pump.dirty = true;
    this.pumps.set(deploymentId, pump);
    if (!pump.running) pump.running = this.pump(deploymentId, pump);
  }

  /** Resolves when no update for the deployment is pending (tests, shutdown). */
  async settled(deploymentId: string): Promise<void> {
    for (;;) {
      const pump = this.pumps.get(deploymentId);
      if (!pump?.running) return;
      await pump.running;
    }
  }

  private async pump(deploymentId: string, pump: { dirty: boolean; running: Promise<void> | null }) {
    try {
      while (pump.dirty) {
        pump.dirty = false;
        const ended = await this.render(deploymentId);
        if (ended) this.tracked.delete(deploymentId);
        if (pump.dirty) await new Promise((resolve) => setTimeout(resolve, this.minIntervalMs));
      }
    } finally {
      pump.running = null;
      this.pumps.delete(deploymentId);
    }
  }

  private async render(deploymentId: string): Promise<boolean> {
    try {
      const view = await this.views.deployment(deploymentId);
      const messages = [
        ...(this.tracked.get(deploymentId) ?? []),
        ...(await this.approvals.messagesOf(deploymentId)),
      ];
      const seen = new Set<string>();
      const reply = deploymentReply(view);
      await Promise.all(
        messages.map(async (message) => {
          const key = `${message.platform}\0${message.channel}\0${message.messageId}`;
          if (seen.has(key)) return;
          seen.add(key);
          const updater = this.updaters.get(message.platform);
          if (!updater) return;
          await updater.update(message, reply).catch((error: unknown) => {
            this.logger.warn({ err: error, deploymentId, message }, 'could not update a deployment message');
          });
        }),
      );
      return ENDED.has(view.status);
    } catch (error) {
      this.logger.warn({ err: error, deploymentId }, 'could not render deployment progress');
      return false;
    }
  }
}
