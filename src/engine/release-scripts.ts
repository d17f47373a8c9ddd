// biome-ignore-all lint/suspicious/noTemplateCurlyInString: this file writes bash, where ${…} is bash syntax, not a template slip
import { posix } from 'node:path';
import type { DeploymentPlan, LinkedFolder, PlanServer } from './plan.js';
import {
  deployRoot,
  frame,
  REPORT_CURRENT,
  type ReleaseContext,
  type RemoteScript,
  releaseExports,
  userScript,
} from './script-frame.js';
import { shellQuote as q } from './shell-quote.js';
import { newNonce } from './step-markers.js';
import type { PlannedStep } from './steps.js';

export type { RemoteScript } from './script-frame.js';

/**
 * Builders of the bash scripts that run on a server, one script per phase, so that each phase
 * costs one round trip per server no matter how many steps it has (round trips, not SSH, are
 * what makes Capistrano slow). Every value is passed through shellQuote; user scripts (hooks,
 * the install command) run in their own `bash -c` so they cannot see the marker nonce.
 *
 * Layout under the deploy path: releases/<name>/, shared/, current -> releases/<name>,
 * repo/ (a bare cache of the repository, fetched into, never checked out).
 */

/** The atomic swap: a new symlink under a temporary name renamed over `current` (rename(2) is atomic). */
function switchCurrentTo(release: string, nonce: string): string {
  const tmp = q(`current.tmp-${nonce}`);
  return [
    `[ -d ${q(`releases/${release}`)} ] || { echo "Release "${q(release)}" is not on this server"; exit 1; }`,
    `ln -sfn -- ${q(`releases/${release}`)} ${tmp}`,
    `mv -T -- ${tmp} current`,
    `echo "current -> releases/"${q(release)}`,
  ].join('\n');
}

/**
 * Fetch the commit into the bare cache (only when it is not there yet, and shallow by sha
 * first; remotes that refuse a sha want get a full fetch), then export its tree into the
 * release with `git archive` — no .git in releases, REVISION records the commit.
 */
function cloneBody(plan: DeploymentPlan, ctx: ReleaseContext, nonce: string): string {
  const commit = q(plan.commit);
  // Fetched by URL, as the project has it now: no remote is kept in the cache (one git process
  // less on every deploy, and no URL with credentials at rest in repo/config).
  const repository = q(plan.repository);
  const release = q(`releases/${ctx.releaseName}`);
  // On the Slipway host itself, http(s) fetches go through the outbound guard's proxy.
  const fetch =
    plan.gitProxy && ctx.server.transport === 'local'
      ? `NO_PROXY= no_proxy= git -c http.proxy=${q(plan.gitProxy)} --git-dir=repo fetch`
      : 'git --git-dir=repo fetch';
  return [
    '[ -d releases ] && [ -d shared ] || mkdir -p releases shared',
    `[ -d repo ] || { git init --quiet --bare repo.tmp-${nonce} && mv -T -- repo.tmp-${nonce} repo; }`,
    `if ! git --git-dir=repo cat-file -e ${q(`${plan.commit}^{commit}`)} 2>/dev/null; then`,
    `  echo "Fetching "${commit}`,
    `  if ! ${fetch} --quiet --no-tags --depth=1 ${repository} ${commit}; then`,
    '    echo "The remote refused a fetch by commit; fetching all branches and tags instead"',
    `    ${fetch} --quiet ${repository} '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'`,
    '  fi',
    'fi',
    removeIfPresent(release),
    `mkdir -p -- ${release}`,
    `git --git-dir=repo archive --format=tar ${commit} | tar -x -f - -C ${release}`,
    `printf '%s\\n' ${commit} > ${release}/REVISION`,
    `echo "Release "${q(ctx.releaseName)}" at "${commit}`,
  ].join('\n');
}

/**
 * Linked folders: `from` in the release becomes a symlink to `shared/<to>`. On the first deploy
 * `shared/<to>` is created, seeded with the release's own copy when it has one. The env file
 * is written from base64 (never in argv, never echoed) under umask 077 to a temporary name and
 * renamed into place, so it is 0600 from birth and never half-written.
 */
function linkBody(plan: DeploymentPlan, ctx: ReleaseContext, nonce: string): string {
  const root = deployRoot(ctx.server);
  const release = `releases/${ctx.releaseName}`;
  const lines: string[] = [];
  for (const folder of plan.linkedFolders) lines.push(...linkFolder(folder, root, release));
  if (plan.envFile !== undefined && plan.envFile !== null) {
    const tmp = q(`shared/.env.tmp-${nonce}`);
    const encoded = Buffer.from(plan.envFile, 'utf8').toString('base64');
    lines.push(
      `(umask 077 && printf '%s' ${q(encoded)} | base64 -d > ${tmp})`,
      `chmod 600 ${tmp}`,
      `mv -f -- ${tmp} shared/.env`,
      removeIfPresent(q(`${release}/.env`)),
      `ln -s -- ${q(`${root}/shared/.env`)} ${q(`${release}/.env`)}`,
      'echo "Linked .env -> shared/.env"',
    );
  }
  return lines.join('\n');
}

function linkFolder(folder: LinkedFolder, root: string, release: string): string[] {
  const inRelease = q(`${release}/${folder.from}`);
  const inShared = q(`shared/${folder.to}`);
  return [
    `if [ ! -e ${inShared} ]; then`,
    ...makeParent(`shared/${folder.to}`, 'shared').map((line) => `  ${line}`),
    `  if [ -d ${inRelease} ] && [ ! -L ${inRelease} ]; then mv -- ${inRelease} ${inShared}; else mkdir -p -- ${inShared}; fi`,
    'fi',
    removeIfPresent(inRelease),
    ...makeParent(`${release}/${folder.from}`, release),
    `ln -s -- ${q(`${root}/shared/${folder.to}`)} ${inRelease}`,
    `echo "Linked "${q(folder.from)}" -> shared/"${q(folder.to)}`,
  ];
}

/**
 * `rm -rf` only when there is something to remove: the test is a builtin, `rm` is a process,
 * and every process a script starts is paid on every server of every deploy.
 */
function removeIfPresent(quoted: string): string {
  return `if [ -e ${quoted} ] || [ -L ${quoted} ]; then rm -rf -- ${quoted}; fi`;
}

/** `mkdir -p` of `path`'s parent, worked out here rather than by `dirname`; nothing when it is `existing`. */
function makeParent(path: string, existing: string): string[] {
  const parent = posix.dirname(path);
  return parent === existing ? [] : [`mkdir -p -- ${q(parent)}`];
}

function installBody(command: string): string {
  return ['cd -- "$SLIPWAY_RELEASE_PATH"', userScript(command, null)].join('\n');
}

/** Hooks run in the release when it exists (after clone), else in the deploy path. */
function hookBody(step: PlannedStep): string {
  const hook = step.hook!;
  return [
    'if [ -d "$SLIPWAY_RELEASE_PATH" ]; then cd -- "$SLIPWAY_RELEASE_PATH"; fi',
    userScript(hook.script, hook.runAs),
  ].join('\n');
}

function bodyFor(step: PlannedStep, plan: DeploymentPlan, ctx: ReleaseContext, nonce: string): string {
  switch (step.action) {
    case 'hook':
      return hookBody(step);
    case 'clone':
      return cloneBody(plan, ctx, nonce);
    case 'link':
      return linkBody(plan, ctx, nonce);
    case 'install':
      return installBody(plan.installCommand ?? 'true');
    case 'activate':
      return switchCurrentTo(ctx.releaseName, nonce);
    case 'purge':
      return purgeBody(plan.keepReleases);
    default:
      throw new Error(`no script for step ${step.key}`);
  }
}

function releaseContext(plan: DeploymentPlan, server: PlanServer): ReleaseContext {
  return { server, releaseName: plan.releaseName, commit: plan.commit };
}

/** Everything before the barrier, in one round trip; also reports the release `current` points to now. */
export function buildPrepareScript(
  plan: DeploymentPlan,
  server: PlanServer,
  steps: PlannedStep[],
): RemoteScript {
  const nonce = newNonce();
  const ctx = releaseContext(plan, server);
  return frame(nonce, server, {
    missing: 'create',
    setup: [releaseExports(ctx), ...REPORT_CURRENT],
    steps: steps.map((step) => ({ step, body: bodyFor(step, plan, ctx, nonce) })),
  });
}

/** The symlink swap, after-activate hooks, then purge and its hooks. */
export function buildActivateScript(
  plan: DeploymentPlan,
  server: PlanServer,
  steps: PlannedStep[],
): RemoteScript {
  const nonce = newNonce();
  const ctx = releaseContext(plan, server);
  return frame(nonce, server, {
    missing: 'fail',
    setup: [releaseExports(ctx)],
    steps: steps.map((step) => ({ step, body: bodyFor(step, plan, ctx, nonce) })),
  });
}

/**
 * Keep the `keep` newest releases, and never remove the one `current` points to or the one
 * just before it (the rollback target). Names sort by their UTC timestamp prefix.
 */
function purgeBody(keep: number): string {
  return [
    'export LC_ALL=C # release names sort by their timestamp in the C locale',
    'shopt -s nullglob',
    'active=$(readlink -- current 2>/dev/null || true); active=${active%/}; active=${active##*/}',
    'releases=(); for dir in releases/*/; do dir=${dir%/}; releases+=("${dir##*/}"); done',
    `count=\${#releases[@]}; keep=${Math.max(1, Math.floor(keep))}; purged=0`,
    'for ((i = 0; i < count - keep; i++)); do',
    '  name=${releases[i]}',
    '  [ "$name" = "$active" ] && continue',
    '  [ "${releases[i + 1]}" = "$active" ] && continue',
    '  rm -rf -- "releases/$name"',
    '  echo "Purged $name"; purged=$((purged + 1))',
    'done',
    'leftovers=(current.tmp-*); [ ${#leftovers[@]} -eq 0 ] || rm -f -- "${leftovers[@]}"',
    'echo "Kept $((count - purged)) release(s)"',
  ].join('\n');
}

/**
 * Remove a release that never went live (failed or cancelled before activation). Refuses when
 * `current` points at it, so a mistake here can never delete the live release.
 */
export function buildCleanupScript(server: PlanServer, releaseName: string, step: PlannedStep): RemoteScript {
  const release = q(`releases/${releaseName}`);
  return frame(newNonce(), server, {
    missing: 'report-empty',
    setup: REPORT_CURRENT,
    steps: [
      {
        step,
        body: [
          'live=$(readlink -- current 2>/dev/null || true); live=${live%/}',
          `if [ "\${live##*/}" = ${q(releaseName)} ]; then echo "Not removing "${release}": it is live"; exit 1; fi`,
          `if [ -e ${release} ]; then rm -rf -- ${release}; echo "Removed "${release}; else echo "Nothing to remove"; fi`,
          'rm -f -- current.tmp-* shared/.env.tmp-* && rm -rf -- repo.tmp-*',
        ].join('\n'),
      },
    ],
  });
}

/**
 * After a failed activation: point `current` back at the release it had before (or remove it
 * when there was none) and remove the new release.
 */
export function buildRevertScript(
  server: PlanServer,
  releaseName: string,
  previousRelease: string | null,
  step: PlannedStep,
): RemoteScript {
  const nonce = newNonce();
  const release = q(`releases/${releaseName}`);
  const restore = previousRelease
    ? switchCurrentTo(previousRelease, nonce)
    : [
        'live=$(readlink -- current 2>/dev/null || true); live=${live%/}',
        `if [ "\${live##*/}" = ${q(releaseName)} ]; then rm -f -- current; echo "Removed current (there was no release before)"; fi`,
      ].join('\n');
  return frame(nonce, server, {
    missing: 'report-empty',
    steps: [{ step, body: [restore, `rm -rf -- ${release}`, `echo "Removed "${release}`].join('\n') }],
    trailer: REPORT_CURRENT,
  });
}

/** Point `current` at an existing release, atomically; reports the new target. */
export function buildSwitchScript(
  server: PlanServer,
  targetRelease: string,
  step: PlannedStep,
): RemoteScript {
  const nonce = newNonce();
  return frame(nonce, server, {
    missing: 'fail',
    steps: [{ step, body: switchCurrentTo(targetRelease, nonce) }],
    trailer: REPORT_CURRENT,
  });
}

/**
 * Where `current` points and which releases exist (`info release <name>`, oldest first).
 *
 * With `discard` (crash recovery for a deployment whose process died): first kill what is still
 * running for that release — a dead client does not stop remote commands, and an orphaned
 * `npm ci` would go on writing into the release after it is removed. They are found by the
 * SLIPWAY_RELEASE variable every step exports (Linux /proc; processes of the login user). Then
 * the release is removed unless it is live (or `keepRelease`: convergence decides), all in the
 * same round trip.
 */
export function buildInspectScript(
  server: PlanServer,
  discard?: string,
  options: { keepRelease?: boolean } = {},
): RemoteScript {
  const removal = discard
    ? [
        `for __sw_env in $(grep -lzx -- ${q(`SLIPWAY_RELEASE=${discard}`)} /proc/[0-9]*/environ 2>/dev/null); do`,
        '  __sw_pid=${__sw_env#/proc/}; __sw_pid=${__sw_pid%/environ}',
        '  [ "$__sw_pid" != "$$" ] && kill -KILL "$__sw_pid" 2>/dev/null',
        'done',
        ...(options.keepRelease
          ? []
          : [
              '__sw_live=$(readlink -- current 2>/dev/null || true); __sw_live=${__sw_live%/}',
              `if [ "\${__sw_live##*/}" != ${q(discard)} ]; then rm -rf -- ${q(`releases/${discard}`)} current.tmp-* shared/.env.tmp-* repo.tmp-*; fi`,
            ]),
      ]
    : [];
  return frame(newNonce(), server, {
    missing: 'report-empty',
    setup: [
      ...removal,
      ...REPORT_CURRENT,
      'LC_ALL=C',
      'shopt -s nullglob',
      'for __sw_dir in releases/*/; do __sw_dir=${__sw_dir%/}; __sw_info release "${__sw_dir##*/}"; done',
    ],
    steps: [],
  });
}
