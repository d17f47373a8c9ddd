import { withConstraintErrors } from '../../db/constraint-errors.js';
import { CommitStatus, type IProject } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { CommitStatusState } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findProject } from '../lookup.js';

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export type CombinedState = 'success' | 'pending' | 'failure' | 'none';

export interface CommitStatusView {
  context: string;
  state: CommitStatusState;
  description: string | null;
  targetUrl: string | null;
  reportedBy: string;
  updatedAt: Date;
}

export interface CommitStatuses {
  commit: string;
  /** GitHub's combined state: any failure or error fails; else any pending is pending. */
  state: CombinedState;
  statuses: CommitStatusView[];
}

/** Test results of commits, reported by CI (GitHub's commit statuses): what test gates read. */
export class CommitStatusService {
  constructor(private readonly orm: Orm) {}

  async report(
    actor: Actor,
    projectName: string,
    commit: string,
    input: {
      state: CommitStatusState;
      context?: string;
      description?: string | null;
      targetUrl?: string | null;
    },
  ): Promise<CommitStatuses> {
    const sha = checkSha(commit);
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const context = input.context ?? 'default';
    const existing = await em.findOne(CommitStatus, { project, commitHash: sha, context });
    if (existing) {
      existing.state = input.state;
      existing.description = input.description ?? null;
      existing.targetUrl = input.targetUrl ?? null;
      existing.reportedByName = actor.name;
    } else {
      em.create(CommitStatus, {
        project,
        commitHash: sha,
        context,
        state: input.state,
        description: input.description ?? null,
        targetUrl: input.targetUrl ?? null,
        reportedByName: actor.name,
      });
    }
    recordAudit(em, actor, {
      action: 'commit_status.report',
      result: 'ok',
      projectId: project.id,
      targetType: 'commit',
      targetId: sha,
      details: { context, state: input.state },
    });
    await withConstraintErrors(() => em.flush());
    return this.of(project, sha);
  }

  async list(projectName: string, commit: string): Promise<CommitStatuses> {
    const project = await findProject(this.orm.em.fork(), projectName);
    return this.of(project, checkSha(commit));
  }

  async of(project: IProject, commit: string): Promise<CommitStatuses> {
    const rows = await this.orm.em
      .fork()
      .find(CommitStatus, { project: project.id, commitHash: commit }, { orderBy: { context: 'asc' } });
    const states = rows.map((row) => row.state);
    const state: CombinedState =
      states.length === 0
        ? 'none'
        : states.some((s) => s === 'failure' || s === 'error')
          ? 'failure'
          : states.some((s) => s === 'pending')
            ? 'pending'
            : 'success';
    return {
      commit,
      state,
      statuses: rows.map((row) => ({
        context: row.context,
        state: row.state,
        description: row.description ?? null,
        targetUrl: row.targetUrl ?? null,
        reportedBy: row.reportedByName,
        updatedAt: row.updatedAt,
      })),
    };
  }
}

function checkSha(commit: string): string {
  const sha = commit.toLowerCase();
  if (!FULL_SHA.test(sha)) {
    throw new SlipwayError('invalid_input', 'The commit must be a full 40-character sha.', { field: 'sha' });
  }
  return sha;
}
