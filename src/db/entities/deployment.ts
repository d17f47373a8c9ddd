import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { DEPLOYMENT_KINDS, DEPLOYMENT_STATUSES, STEP_STATUSES } from '../../vocabulary.js';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Environment } from './environment.js';
import { Member } from './member.js';
import { Project } from './project.js';
import { Server } from './server.js';

/** One commit a deployment ships, as cards list it. */
export interface ShippedCommit {
  sha: string;
  /** The message's first line. */
  subject: string;
  author: string;
}

/** What a deployment changes: the commits between what was live and what it ships, read from git when it was asked for. */
export interface DeploymentChanges {
  /** The commit live on the environment when it was asked for; null when nothing was live. */
  base: string | null;
  head: string;
  /** How many commits `head` adds over `base`. */
  total: number;
  /** How many of `base`'s commits `head` lacks (a deploy of an older commit goes back). */
  behind: number;
  /**
   * The newest of them (at most 10), newest first; when `head` only goes back (`total` 0), the
   * commits of `base` it takes away.
   */
  commits: ShippedCommit[];
  /** The git host's compare page (GitHub, GitLab, Bitbucket), when there is one. */
  compareUrl: string | null;
}

export const Deployment = defineEntity({
  name: 'Deployment',
  tableName: 'deployments',
  indexes: [{ properties: ['environment', 'createdAt'] }, { properties: ['status'] }],
  uniques: [
    {
      // The run slot: at most one queued or running deployment per environment, whatever
      // replica or race tries to add a second.
      name: 'deployments_one_active_per_environment',
      properties: ['environment'],
      where: "status in ('queued', 'running')",
    },
  ],
  properties: {
    id: uuidPrimaryKey(),
    /** Short, human-friendly number shown in chat (`/cancel 42`). */
    number: p.integer().autoincrement().unique(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    environment: () => p.manyToOne(Environment).deleteRule('cascade'),
    kind: p.enum(DEPLOYMENT_KINDS).default('deploy'),
    status: p.enum(DEPLOYMENT_STATUSES),
    ref: p.string().length(255),
    commitHash: p.string().length(64).nullable(),
    commitAuthor: p.string().length(255).nullable(),
    commitMessage: p.text().nullable(),
    changes: p.json<DeploymentChanges>().nullable(),
    /** `<UTC yyyymmddHHMMSS>-<id>`, the folder under `releases/`. */
    releaseName: p.string().length(100).nullable(),
    /** For a rollback: the release switched to. */
    targetRelease: p.string().length(100).nullable(),
    /** The release that was live before this one activated (null: nothing was): what a rollback returns to. */
    previousRelease: p.string().length(100).nullable(),
    promotedFrom: () => p.manyToOne(Environment).nullable().deleteRule('set null'),
    requestedBy: () => p.manyToOne(Member).nullable().deleteRule('set null'),
    requestedByName: p.string().length(255),
    /** Where it was asked from (slack, web, api, github, …). */
    source: p.string().length(32),
    forced: p.boolean().default(false),
    /** Why an admin forced it (past a test gate or a freeze). */
    forceReason: p.text().nullable(),
    /** Why it failed, for people: the failing step and server, or that the worker was interrupted. */
    failureReason: p.text().nullable(),
    /** Why it failed, for programs: `interrupted`, `command_failed`, `health_check_failed`, … */
    failureCode: p.string().length(50).nullable(),
    /** Set by /cancel; the process running the deployment sees it and stops before activation. */
    cancelRequestedAt: p.datetime().nullable(),
    cancelRequestedBy: p.string().length(255).nullable(),
    /** Which process runs it, and when that process last said it was alive (crash detection). */
    runnerId: p.string().length(100).nullable(),
    runnerSeenAt: p.datetime().nullable(),
    createdAt: createdAt(),
    queuedAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    /**
     * Set just before the first server is switched (after the barrier): a run that dies after
     * this may have left servers on different releases, and recovery brings them to one.
     */
    activationStartedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});
export type IDeployment = InferEntity<typeof Deployment>;

export const DeploymentStep = defineEntity({
  name: 'DeploymentStep',
  tableName: 'deployment_steps',
  uniques: [{ properties: ['deployment', 'serverName', 'position'] }],
  properties: {
    id: uuidPrimaryKey(),
    deployment: () => p.manyToOne(Deployment).deleteRule('cascade'),
    server: () => p.manyToOne(Server).nullable().deleteRule('set null'),
    serverName: p.string().length(100),
    position: p.integer(),
    /** `clone`, `link`, `install`, `activate`, `purge`, or a hook's name. */
    name: p.string().length(255),
    kind: p.enum(['action', 'hook'] as const),
    status: p.enum(STEP_STATUSES).default('pending'),
    exitCode: p.integer().nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    /** Last few KiB of output, secrets redacted: what chat shows on failure. */
    outputTail: p.text().nullable(),
    /** Whole output up to a cap, secrets redacted. Loaded only when asked for. */
    output: p.text().nullable().lazy(),
  },
});
export type IDeploymentStep = InferEntity<typeof DeploymentStep>;
