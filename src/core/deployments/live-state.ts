import type { EntityManager } from '@mikro-orm/postgresql';
import type { ServerInspection } from '../../engine/index.js';

/**
 * What is live on an environment — the release `current` points at on its servers and that
 * release's commit — kept on the environment row, written where it changes: by the executor
 * when an activation or a rollback completes (in the transaction that ends the deployment), and
 * by the reaper when the servers of an interrupted deployment agree on a release. Everything
 * that asks "what is live" (promote, manual build, status, the pipeline view, the API) reads it.
 */

/**
 * The release's commit comes from the deployment that built it (deploy or promote); a release
 * Slipway did not build leaves the commit unknown. One statement, on the caller's transaction.
 */
const RECORD_SQL = `
update environments e
   set live_release = ?, live_since = now(),
       (live_commit, live_deployment_id) = (
         select d.commit_hash, d.id from deployments d
          where d.project_id = e.project_id and d.release_name = ? and d.kind in ('deploy', 'promote')
          order by d.number desc limit 1)
 where e.id = ?`;

export async function recordLiveRelease(
  tx: EntityManager,
  environmentId: string,
  release: string,
): Promise<void> {
  await tx
    .getConnection()
    .execute(RECORD_SQL, [release, release, environmentId], 'run', tx.getTransactionContext());
}

/**
 * After a crash: when every server was read and they all point at the same release, that is
 * what is live. Servers that disagree (or could not be read) leave the stored state as it was.
 */
export function agreedRelease(inspections: readonly ServerInspection[]): string | null {
  const releases = new Set(
    inspections.map((inspection) => (inspection.error ? null : inspection.currentRelease)),
  );
  const [only] = [...releases];
  return releases.size === 1 && only ? only : null;
}
