import { NotificationChannel, Project } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { isSlipwayError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { SYSTEM_ACTOR } from '../access/index.js';
import type { NotificationChannelService, NotificationSender } from '../notifications/index.js';

/** The channel Slipway keeps for a project whose deployments are reported to its repository host. */
export const REPORTING_CHANNEL = 'github-deployments';
/** What the host is told about: every step of a deployment, from queued (or awaiting approval) to its end. */
const REPORTED_EVENTS = ['deployment.*', 'approval.*'];

export interface ReportingSync {
  created: string[];
  updated: string[];
  removed: string[];
}

/**
 * Deployments of a project with a GitHub repository are reported there (GitHub Deployments)
 * through a notification channel of platform `github`: written to the outbox with the change,
 * delivered by the workers with retries and back-off, never on a deployment's path. This keeps
 * one such channel per project while the `github` sender can report (a token is configured):
 * created when the project gains a repository, pointed at the new one when it changes, removed
 * when it has none. A project that already has a `github` channel of its own is left alone;
 * switching the channel off (`active: false`) stops the reports.
 */
export class DeploymentReporting {
  constructor(
    private readonly orm: Orm,
    private readonly channels: NotificationChannelService,
    private readonly senders: readonly NotificationSender[],
    private readonly logger?: Logger,
  ) {}

  /** The `github` sender is here and has what it needs to report. */
  get enabled(): boolean {
    const sender = this.senders.find((candidate) => candidate.platform === 'github');
    return !!sender && sender.unavailable({ kind: 'channel', channel: 'owner/name' }) === null;
  }

  async sync(): Promise<ReportingSync> {
    const done: ReportingSync = { created: [], updated: [], removed: [] };
    if (!this.enabled) return done;
    const em = this.orm.em.fork();
    const projects = await em.find(Project, {}, { fields: ['id', 'name', 'githubRepository'] });
    const channels = await em.find(NotificationChannel, { platform: 'github', project: { $ne: null } });
    for (const project of projects) {
      const own = channels.filter((channel) => channel.project?.id === project.id);
      const kept = own.find((channel) => channel.name === REPORTING_CHANNEL);
      const repository = project.githubRepository ?? null;
      try {
        if (repository && own.length === 0) {
          await this.channels.create(SYSTEM_ACTOR, project.name, {
            type: 'github',
            name: REPORTING_CHANNEL,
            channel: repository,
            events: REPORTED_EVENTS,
          });
          done.created.push(project.name);
        } else if (repository && kept && kept.targetHint !== repository) {
          await this.channels.update(SYSTEM_ACTOR, project.name, kept.id, { channel: repository });
          done.updated.push(project.name);
        } else if (!repository && kept) {
          await this.channels.remove(SYSTEM_ACTOR, project.name, kept.id);
          done.removed.push(project.name);
        }
      } catch (error) {
        // Another replica made the same change a moment ago, or the project went: the next sync sees.
        if (!isSlipwayError(error) || (error.code !== 'conflict' && error.code !== 'not_found')) throw error;
        this.logger?.debug({ project: project.name, err: error }, 'reporting channel changed meanwhile');
      }
    }
    if (done.created.length || done.updated.length || done.removed.length) {
      this.logger?.info(done, 'GitHub deployment reporting channels brought up to date');
    }
    return done;
  }
}
