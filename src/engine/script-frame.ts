// biome-ignore-all lint/suspicious/noTemplateCurlyInString: this file writes bash, where ${…} is bash syntax, not a template slip
import type { PlanServer } from './plan.js';
import { shellQuote as q } from './shell-quote.js';
import { markerToken } from './step-markers.js';
import type { PlannedStep } from './steps.js';

/**
 * The frame every phase script shares: how bash reads it, how steps run and report through
 * markers (see step-markers.ts), the SLIPWAY_* variables, and how user scripts are started.
 */

export interface RemoteScript {
  script: string;
  nonce: string;
  /** steps[i] is reported by the markers with index i. */
  steps: PlannedStep[];
}

/** What a script does when the deploy path does not exist yet. */
export type MissingDeployPath = 'create' | 'fail' | 'report-empty';

export interface FrameStep {
  step: PlannedStep;
  body: string;
}

export interface ReleaseContext {
  server: PlanServer;
  releaseName: string;
  commit: string;
}

/** Exit code of a script whose deploy path is missing or cannot be entered. */
export const EXIT_NO_DEPLOY_PATH = 90;

export function deployRoot(server: PlanServer): string {
  return server.deployPath.replace(/\/+$/, '');
}

/** `SLIPWAY_*` variables every step, hook and install command can read. */
export function releaseExports(ctx: ReleaseContext): string {
  const root = deployRoot(ctx.server);
  const vars: [string, string][] = [
    ['SLIPWAY_RELEASE', ctx.releaseName],
    ['SLIPWAY_RELEASE_PATH', `${root}/releases/${ctx.releaseName}`],
    ['SLIPWAY_DEPLOY_PATH', root],
    ['SLIPWAY_SHARED_PATH', `${root}/shared`],
    ['SLIPWAY_COMMIT', ctx.commit],
    ['SLIPWAY_SERVER', ctx.server.name],
  ];
  return `export GIT_TERMINAL_PROMPT=0 ${vars.map(([name, value]) => `${name}=${q(value)}`).join(' ')}`;
}

const RELEASE_VARIABLES = [
  'SLIPWAY_RELEASE',
  'SLIPWAY_RELEASE_PATH',
  'SLIPWAY_DEPLOY_PATH',
  'SLIPWAY_SHARED_PATH',
  'SLIPWAY_COMMIT',
  'SLIPWAY_SERVER',
];

/**
 * Run a user's script (hook or install command) with errexit and pipefail, in a fresh bash
 * that reads no rc files. As another user, sudo gets `-n` (never prompt: a deploy has no
 * terminal) and the SLIPWAY_* variables are passed explicitly because sudo resets the env.
 */
export function userScript(script: string, runAs: string | null | undefined): string {
  const bash = `bash --norc --noprofile -e -o pipefail -c ${q(script)}`;
  if (!runAs) return bash;
  const env = RELEASE_VARIABLES.map((name) => `"${name}=$${name}"`).join(' ');
  return `sudo -n -H -u ${q(runAs)} -- env ${env} ${bash}`;
}

/**
 * The frame shared by all phase scripts. Read by `bash -s` from stdin; the whole body is one
 * function so bash has parsed all of it before anything runs, and it runs with stdin from
 * /dev/null so no command can swallow the rest of the script. Each step runs in a subshell
 * with `set -euo pipefail`; the first failing step ends the script with its exit code.
 */
export function frame(
  nonce: string,
  server: PlanServer,
  options: { missing: MissingDeployPath; setup?: string[]; steps: FrameStep[]; trailer?: string[] },
): RemoteScript {
  const root = q(deployRoot(server));
  const lines = [
    'exec 2>&1',
    '__slipway_main() {',
    `  local __sw_m=${q(markerToken(nonce))} __sw_rc=0`,
    `  __sw_info() { printf '\\n%s info %s %s\\n' "$__sw_m" "$1" "$2"; }`,
  ];
  switch (options.missing) {
    case 'create':
      lines.push(
        `  mkdir -p -- ${root} && cd -- ${root} || { echo "Cannot create or enter "${root}; return ${EXIT_NO_DEPLOY_PATH}; }`,
      );
      break;
    case 'fail':
      lines.push(
        `  cd -- ${root} 2>/dev/null || { echo "Deploy path "${root}" does not exist"; return ${EXIT_NO_DEPLOY_PATH}; }`,
      );
      break;
    case 'report-empty':
      lines.push(`  cd -- ${root} 2>/dev/null || { __sw_info current ''; return 0; }`);
      break;
  }
  for (const line of options.setup ?? []) lines.push(`  ${line}`);
  options.steps.forEach(({ body }, index) => {
    lines.push(
      `  printf '\\n%s start %s\\n' "$__sw_m" ${index}`,
      '  (',
      '    set -euo pipefail',
      ...body.split('\n').map((line) => `    ${line}`),
      '  )',
      '  __sw_rc=$?',
      `  printf '\\n%s end %s %s\\n' "$__sw_m" ${index} "$__sw_rc"`,
      '  [ "$__sw_rc" -eq 0 ] || return "$__sw_rc"',
    );
  });
  for (const line of options.trailer ?? []) lines.push(`  ${line}`);
  lines.push('}', '__slipway_main </dev/null', 'exit $?', '');
  return { script: lines.join('\n'), nonce, steps: options.steps.map(({ step }) => step) };
}

/** Reports where `current` points (a release name, or empty) as `info current`. */
export const REPORT_CURRENT = [
  '__sw_cur=$(readlink -- current 2>/dev/null || true)',
  '__sw_cur=${__sw_cur%/}',
  '__sw_info current "${__sw_cur##*/}"',
];
