import type { EntityManager } from '@mikro-orm/postgresql';
import { type IEnvironment, PendingCommit } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { findEnvironmentByKey, findProject } from '../lookup.js';
import type { PushedCommit } from './repository-events.js';

export interface PendingCommitView {
  sha: string;
  message: string | null;
  author: string | null;
  pushedBy: string;
  pushedAt: Date;
}

/**
 * The commits pushed to a `do_nothing` environment's branch that are not live there yet: what a
 * manual build (or `/deploy`) ships. Kept in push order; once one of them is live, it and the
 * ones pushed before it are dropped. A forced push replaces the list (the old commits are no
 * longer on the branch), a deleted branch empties it.
 */
export class PendingCommits {
  constructor(private readonly orm: Orm) {}

  /** Adds the pushed commits (a commit pushed again keeps its place); returns how many are pending. */
  async record(
    environment: IEnvironment,
    push: { commits: readonly PushedCommit[]; head: PushedCommit; forced: boolean },
    pushedBy: string,
  ): Promise<number> {
    const commits = push.commits.length ? [...push.commits] : [push.head];
    if (!commits.some((commit) => commit.sha === push.head.sha)) commits.push(push.head);
    return this.orm.em.fork().transactional(async (tx) => {
      if (push.forced) await tx.nativeDelete(PendingCommit, { environment: environment.id });
      const rows = commits.map((commit, position) => ({
        position,
        sha: commit.sha,
        message: commit.message,
        author: commit.author?.slice(0, 255) ?? null,
      }));
      await tx.getConnection().execute(
        `insert into pending_commits (id, environment_id, commit_hash, message, author, pushed_by, pushed_at)
         select gen_random_uuid(), ?, r.sha, r.message, r.author, ?, now()
           from jsonb_to_recordset(?::jsonb) as r(position int, sha text, message text, author text)
          order by r.position
         on conflict (environment_id, commit_hash) do nothing`,
        [environment.id, pushedBy.slice(0, 255), JSON.stringify(rows)],
        'run',
        tx.getTransactionContext(),
      );
      await this.dropLive(tx, environment);
      return tx.count(PendingCommit, { environment: environment.id });
    });
  }

  /** Forgets every pending commit of the environment; returns how many there were. */
  async clear(environment: IEnvironment): Promise<number> {
    return this.orm.em.fork().nativeDelete(PendingCommit, { environment: environment.id });
  }

  async list(
    projectName: string,
    environmentKey: string,
  ): Promise<{ environment: string; branch: string; live: string | null; commits: PendingCommitView[] }> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, environmentKey);
    const live = await this.dropLive(em, environment);
    const rows = await em.find(PendingCommit, { environment }, { orderBy: { seq: 'asc' } });
    return {
      environment: environment.name,
      branch: environment.branch,
      live,
      commits: rows.map((row) => ({
        sha: row.commitHash,
        message: row.message ?? null,
        author: row.author ?? null,
        pushedBy: row.pushedBy,
        pushedAt: row.pushedAt,
      })),
    };
  }

  /** Drops the live commit and the ones pushed before it: they shipped. Returns the live commit. */
  private async dropLive(em: EntityManager, environment: IEnvironment): Promise<string | null> {
    // The environment's stored live state: what `current` points at (rollbacks included).
    const live = environment.liveCommit ?? null;
    if (!live) return null;
    await em.getConnection().execute(
      `delete from pending_commits
        where environment_id = ?
          and seq <= (select seq from pending_commits where environment_id = ? and commit_hash = ?)`,
      [environment.id, environment.id, live],
      'run',
      em.getTransactionContext(),
    );
    return live;
  }
}
