import type { DeploymentMessages, DeploymentViews } from '../core/deployments/index.js';
import type { Logger } from '../logger.js';
import type { MessageUpdater, PostedMessage } from './model.js';
import { deploymentReply } from './replies.js';

const ENDED = new Set(['finished', 'failed', 'cancelled', 'rejected', 'expired']);

/**
 * Keeps every message that shows a deployment up to date: one message edited in place
 * (queued → running step k/n → finished / failed with the log tail). Updates are coalesced per
 * deployment (at most one in flight, then the latest state), so a burst of step events costs a
 * few edits, within the platforms' rate limits. The messages are stored in the database, so any
 * replica, also after a restart, keeps them current; a `volatile` one (reachable only through a
 * short-lived capability, like Slack's response_url) is remembered in this process only.
 */
export class ProgressNotifier {
  private readonly updaters = new Map<string, MessageUpdater>();
  private readonly tracked = new Map<string, PostedMessage[]>();
  private readonly pumps = new Map<string, { dirty: boolean; running: Promise<void> | null }>();

  constructor(
    private readonly views: DeploymentViews,
    private readonly messages: DeploymentMessages,
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
   * An adapter posted (or edited) a message showing the deployment: remember it (in the
   * database, unless it is volatile) and bring it up to date.
   */
  async posted(deploymentId: string, message: PostedMessage): Promise<void> {
    if (message.volatile) {
      this.track(deploymentId, message);
    } else {
      const { volatile: _, ...stored } = message;
      await this.messages.remember(deploymentId, stored).catch((error: unknown) => {
        // Kept in this process at least: it is updated until this process stops.
        this.track(deploymentId, message);
        this.logger.warn({ err: error, deploymentId }, 'could not remember a deployment message');
      });
    }
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
      const messages = [
        ...(this.tracked.get(deploymentId) ?? []),
        ...(await this.messages.of(deploymentId)),
      ].filter((message) => this.updaters.has(message.platform));
      // Nothing shows this deployment (asked for over the API, say): no view to load and render.
      if (!messages.length) return false;
      const view = await this.views.deployment(deploymentId);
      const seen = new Set<string>();
      const reply = deploymentReply(view);
      await Promise.all(
        messages.map(async (message) => {
          const key = `${message.platform}\0${message.channel}\0${message.messageId}`;
          if (seen.has(key)) return;
          seen.add(key);
          await this.updaters
            .get(message.platform)!
            .update(message, reply)
            .catch((error: unknown) => {
              this.logger.warn(
                { err: error, deploymentId, message },
                'could not update a deployment message',
              );
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
