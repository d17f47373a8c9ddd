import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentPlan, PlanServer } from '../../src/engine/plan.js';
import { formatReleaseName } from '../../src/engine/release-name.js';

let sequence = 0;

/** A release name later than every one made before in this process (names sort by time). */
export function nextReleaseName(): string {
  sequence += 1;
  return formatReleaseName(new Date(Date.UTC(2026, 10, 1, 0, 0, 0) + sequence * 1000), `d${sequence}`);
}

export function makePlan(
  input: { repository: string; commit: string; servers: PlanServer[]; privateKey: string },
  overrides: Partial<DeploymentPlan> = {},
): DeploymentPlan {
  const releaseName = overrides.releaseName ?? nextReleaseName();
  return {
    deploymentId: releaseName.split('-')[1]!,
    releaseName,
    repository: input.repository,
    commit: input.commit,
    servers: input.servers,
    linkedFolders: [],
    envFile: null,
    installCommand: null,
    hooks: [],
    keepReleases: 5,
    privateKey: input.privateKey,
    concurrency: 10,
    commandTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    secrets: [],
    ...overrides,
  };
}

/** The release name `current` points to, or null. */
export async function currentRelease(deployPath: string): Promise<string | null> {
  try {
    const target = await readlink(join(deployPath, 'current'));
    return target.split('/').pop() ?? null;
  } catch {
    return null;
  }
}

export async function releasesOn(deployPath: string): Promise<string[]> {
  try {
    return (await readdir(join(deployPath, 'releases'))).sort();
  } catch {
    return [];
  }
}
