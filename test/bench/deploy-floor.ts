// biome-ignore-all lint/suspicious/noTemplateCurlyInString: this file writes bash, where ${…} is bash syntax, not a template slip
/**
 * The floor of the deploy benchmark, in bash: one fresh `ssh` per host, all hosts in parallel,
 * each running one remote command that does the whole deploy (or rollback) — the least any tool
 * must do to ship the same release the same way.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shellQuote as q } from '../../src/engine/shell-quote.js';
import type { SshHosts } from '../harness/sshd.js';

export interface FloorHost {
  port: number;
  deployPath: string;
}

export interface FloorDeploy {
  repository: string;
  commit: string;
  release: string;
  /** Linked folder (release path → shared path), as the Slipway project has. */
  linked: string;
  envFile: string;
  installCommand: string;
  keep: number;
}

/** Fetch into a bare cache, check out into a new release, link, env file, install, atomic switch, purge. */
export function floorDeployScript(host: FloorHost, deploy: FloorDeploy): string {
  const root = host.deployPath;
  const release = `releases/${deploy.release}`;
  const env = Buffer.from(deploy.envFile).toString('base64');
  return [
    'set -euo pipefail',
    `mkdir -p ${q(root)} && cd ${q(root)}`,
    'mkdir -p releases shared',
    '[ -d repo ] || git init --quiet --bare repo',
    `git --git-dir=repo cat-file -e ${q(`${deploy.commit}^{commit}`)} 2>/dev/null || git --git-dir=repo fetch --quiet --no-tags --depth=1 ${q(deploy.repository)} ${q(deploy.commit)}`,
    `mkdir -p ${q(release)}`,
    `git --git-dir=repo archive --format=tar ${q(deploy.commit)} | tar -x -f - -C ${q(release)}`,
    `if [ ! -e shared/${q(deploy.linked)} ]; then if [ -d ${q(release)}/${q(deploy.linked)} ]; then mv ${q(release)}/${q(deploy.linked)} shared/${q(deploy.linked)}; else mkdir -p shared/${q(deploy.linked)}; fi; fi`,
    `rm -rf ${q(release)}/${q(deploy.linked)} && ln -s ${q(`${root}/shared/${deploy.linked}`)} ${q(release)}/${q(deploy.linked)}`,
    `(umask 077 && printf '%s' ${q(env)} | base64 -d > shared/.env.tmp) && mv -f shared/.env.tmp shared/.env`,
    `ln -sfn ${q(`${root}/shared/.env`)} ${q(release)}/.env`,
    `(cd ${q(release)} && bash -c ${q(deploy.installCommand)})`,
    `ln -sfn ${q(release)} current.tmp && mv -T current.tmp current`,
    `ls -1 releases | LC_ALL=C sort | head -n -${deploy.keep} | while read -r old; do [ "releases/$old" = ${q(release)} ] || rm -rf "releases/$old"; done`,
  ].join('\n');
}

/** Point `current` at the release before the live one. */
export function floorRollbackScript(host: FloorHost): string {
  return [
    'set -euo pipefail',
    `cd ${q(host.deployPath)}`,
    'live=$(readlink current); live=${live##*/}',
    'previous=$(ls -1 releases | LC_ALL=C sort | grep -x -B1 -- "$live" | head -n 1)',
    '[ -n "$previous" ] && [ "$previous" != "$live" ]',
    'ln -sfn "releases/$previous" current.tmp && mv -T current.tmp current',
  ].join('\n');
}

let sequence = 0;

/** Runs one script per host, each over its own fresh `ssh`, all at once; returns seconds. */
export async function runFloor(
  ssh: SshHosts,
  user: string,
  hosts: FloorHost[],
  scriptFor: (host: FloorHost) => string,
  workDir: string,
): Promise<number> {
  const lines = ['set -u', 'pids=()'];
  sequence++;
  for (const [index, host] of hosts.entries()) {
    const path = join(workDir, `floor-${sequence}-${index}.sh`);
    await writeFile(path, scriptFor(host));
    const options = [
      '-F /dev/null',
      `-i ${q(ssh.clientKeyPath)}`,
      '-o BatchMode=yes',
      '-o IdentitiesOnly=yes',
      `-o UserKnownHostsFile=${q(ssh.knownHostsPath)}`,
      '-o StrictHostKeyChecking=yes',
      '-o KexAlgorithms=curve25519-sha256',
      '-o HostKeyAlgorithms=ssh-ed25519',
      `-p ${host.port}`,
    ].join(' ');
    lines.push(`ssh ${options} ${q(`${user}@127.0.0.1`)} 'bash -s' < ${q(path)} > /dev/null &`, 'pids+=($!)');
  }
  lines.push(
    'failed=0',
    'for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done',
    'exit "$failed"',
  );
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-c', lines.join('\n')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (exitCode) => resolve(exitCode));
  });
  const elapsed = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`the floor failed on ${code} host(s)`);
  return elapsed;
}
