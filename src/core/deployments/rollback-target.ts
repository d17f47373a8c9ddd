import type { EntityManager } from '@mikro-orm/postgresql';
import { Deployment, type IEnvironment, type IProject } from '../../db/entities/index.js';
import {
  type DeploymentRunner,
  releaseBefore,
  type ServerInspection,
  validateReleaseName,
} from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import { type DeploymentPlanBuilder, planServer } from './deployment-plan-builder.js';

export interface RollbackTarget {
  release: string;
  /** The commit the release was built from (null: a release Slipway did not build). */
  commit: string | null;
  commitMessage: string | null;
  commitAuthor: string | null;
}

/**
 * Settles a rollback's target before anything is recorded — the release just before the live
 * one, or the one asked for by name or by its deployment's number (`#42`).
 *
 * From the records first, like Envoyer's rollback: what is live (the environment row) and which
 * releases this environment's finished deploys built and its purge still keeps. That answers in
 * milliseconds with no round trip to any server, and the rollback's run, on its one connection
 * per server, checks that every server has the target before switching any (a server that lost
 * it fails the rollback and switches nothing). When the records give no target, the servers are
 * read (one round trip each), so the refusal names the releases each server really keeps and
 * nobody gets a failed deployment for a rollback that could never work.
 */
export class RollbackTargets {
  constructor(
    private readonly runner: DeploymentRunner,
    private readonly plans: DeploymentPlanBuilder,
  ) {}

  async settle(
    em: EntityManager,
    project: IProject,
    environment: IEnvironment,
    asked: string | undefined,
  ): Promise<RollbackTarget> {
    const named = asked ? await this.named(em, project, environment, asked) : null;
    const recorded = await recordedTarget(em, project, environment, named);
    if (recorded) return recorded;
    const servers = this.plans.serversOf(environment);
    const settings = this.plans.connectionFor(project);
    const inspections = await this.runner.inspect(servers.map(planServer), settings);
    const names = new Map(servers.map((server) => [server.id, server.name]));
    const nameOf = (inspection: ServerInspection) => names.get(inspection.serverId) ?? inspection.serverId;
    const unreadable = inspections.find((inspection) => inspection.error);
    if (unreadable) {
      throw new SlipwayError(
        'refused',
        `Cannot roll ${environment.name} back: the releases on ${nameOf(unreadable)} could not be read (${unreadable.error}).`,
      );
    }
    const labels = await releaseLabels(
      em,
      project,
      inspections.flatMap((inspection) => inspection.releases),
    );
    const kept = (inspection: ServerInspection) =>
      inspection.releases.length
        ? [...inspection.releases]
            .sort()
            .reverse()
            .map((release) => describe(release, labels, release === inspection.currentRelease))
            .join(', ')
        : 'none';
    const keptEverywhere = inspections.map((i) => `${nameOf(i)}: ${kept(i)}`).join('; ');

    let target: string;
    if (named) {
      for (const inspection of inspections) {
        if (inspection.currentRelease === named) {
          throw new SlipwayError(
            'refused',
            `${describe(named, labels, true)} is already live on ${environment.name}.`,
          );
        }
        if (!inspection.releases.includes(named)) {
          throw new SlipwayError(
            'refused',
            `Release ${named} is not on ${nameOf(inspection)} (it may have been purged). Releases kept: ${keptEverywhere}.`,
          );
        }
      }
      target = named;
    } else {
      const befores = inspections.map((inspection) => ({ inspection, before: releaseBefore(inspection) }));
      const stuck = befores.find(({ before }) => before === null);
      if (stuck) {
        const live = stuck.inspection.currentRelease;
        throw new SlipwayError(
          'refused',
          live
            ? `Nothing to roll back to on ${environment.name}: ${nameOf(stuck.inspection)} keeps no release before the live one. Releases kept: ${keptEverywhere}.`
            : `Nothing to roll back to on ${environment.name}: nothing is live on ${nameOf(stuck.inspection)} yet.`,
        );
      }
      const distinct = new Set(befores.map(({ before }) => before));
      if (distinct.size > 1) {
        throw new SlipwayError(
          'refused',
          `The servers of ${environment.name} disagree on the release before the live one (${keptEverywhere}): roll back to a named release.`,
        );
      }
      target = befores[0]!.before!;
    }
    const origin = labels.get(target);
    return {
      release: target,
      commit: origin?.commit ?? null,
      commitMessage: origin?.message ?? null,
      commitAuthor: origin?.author ?? null,
    };
  }

  /** `#42` (or `42`) is the release deployment 42 built; anything else is a release name. */
  private async named(
    em: EntityManager,
    project: IProject,
    environment: IEnvironment,
    asked: string,
  ): Promise<string> {
    const number = /^#?(\d{1,9})$/.exec(asked.trim())?.[1];
    if (!number) return validateReleaseName(asked.trim());
    const built = await em.findOne(Deployment, {
      project,
      environment,
      number: Number(number),
      kind: { $in: ['deploy', 'promote'] },
      releaseName: { $ne: null },
    });
    if (!built?.releaseName) {
      throw new SlipwayError(
        'not_found',
        `There is no deployment #${number} that built a release of ${environment.name}: give a release name or the number of a deploy or promote.`,
      );
    }
    return built.releaseName;
  }
}

/**
 * The target the records give, or null when they give none (nothing live recorded, nothing kept
 * before it, a name they do not keep): then the servers decide. Kept = the newest
 * `releasesToKeep` releases this environment's finished deploys and promotions built, as the
 * purge after each activation keeps them (by name, which sorts by time).
 */
async function recordedTarget(
  em: EntityManager,
  project: IProject,
  environment: IEnvironment,
  named: string | null,
): Promise<RollbackTarget | null> {
  const live = environment.liveRelease;
  if (!live) return null;
  if (named === live) {
    const labels = await releaseLabels(em, project, [live]);
    throw new SlipwayError(
      'refused',
      `${describe(live, labels, true)} is already live on ${environment.name}.`,
    );
  }
  const built = await em.find(
    Deployment,
    {
      project,
      environment,
      status: 'finished',
      kind: { $in: ['deploy', 'promote'] },
      releaseName: { $ne: null },
    },
    { orderBy: { releaseName: 'desc' }, limit: project.releasesToKeep },
  );
  const kept = built.map((deployment) => deployment.releaseName!);
  if (!kept.includes(live)) return null;
  const target = named ?? releaseBefore({ currentRelease: live, releases: kept });
  const origin = target ? built.find((deployment) => deployment.releaseName === target) : undefined;
  if (!target || !origin) return null;
  return {
    release: target,
    commit: origin.commitHash ?? null,
    commitMessage: origin.commitMessage ?? null,
    commitAuthor: origin.commitAuthor ?? null,
  };
}

interface ReleaseLabel {
  number: number;
  commit: string | null;
  message: string | null;
  author: string | null;
}

/** Which deployment built each release, for messages (`…-0000000042 (#42, abc12345)`). */
async function releaseLabels(
  em: EntityManager,
  project: IProject,
  releases: string[],
): Promise<Map<string, ReleaseLabel>> {
  const names = [...new Set(releases)];
  const rows = names.length
    ? await em.find(
        Deployment,
        { project, releaseName: { $in: names }, kind: { $in: ['deploy', 'promote'] } },
        { orderBy: { number: 'asc' } },
      )
    : [];
  return new Map(
    rows.map((row) => [
      row.releaseName!,
      {
        number: row.number,
        commit: row.commitHash ?? null,
        message: row.commitMessage ?? null,
        author: row.commitAuthor ?? null,
      },
    ]),
  );
}

function describe(release: string, labels: Map<string, ReleaseLabel>, live: boolean): string {
  const label = labels.get(release);
  const parts = [label ? `#${label.number}` : null, label?.commit ? label.commit.slice(0, 8) : null];
  if (live) parts.push('live');
  const inner = parts.filter(Boolean).join(', ');
  return inner ? `${release} (${inner})` : release;
}
