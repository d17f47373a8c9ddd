import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from './run-command.js';

export interface FixtureRepository {
  /** Path of the bare repository: what a plan's `repository` is set to. */
  path: string;
  /** Commit shas, oldest first. */
  commits: string[];
  /** Files each commit adds or changes (path → content), matching `commits`. */
  files: Record<string, string>[];
  /** Adds a commit to `main` (pushed to the bare repository) and returns its sha; `commits` grows. */
  commit(message: string, files: Record<string, string>, author?: string): Promise<string>;
  cleanup(): Promise<void>;
}

const FIXTURE_COMMITS: { message: string; files: Record<string, string> }[] = [
  {
    message: 'First release',
    files: {
      'README.md': '# Fixture app\n',
      'public/index.html': '<h1>v1</h1>\n',
      'storage/seed.txt': 'seeded from the repository\n',
      VERSION: '1\n',
    },
  },
  {
    message: 'Second release',
    files: { 'public/index.html': '<h1>v2</h1>\n', VERSION: '2\n' },
  },
];

/**
 * A local bare git repository with a couple of commits of plain files, readable by everyone.
 * When `owner` is given (and we are root) it is chowned to that user: git refuses to serve a
 * repository owned by someone else ("dubious ownership"), and the SSH hosts log in as `owner`.
 */
export async function createFixtureRepository(options: { owner?: string } = {}): Promise<FixtureRepository> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-repo-'));
  const work = join(dir, 'work');
  const bare = join(dir, 'repo.git');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Fixture',
    GIT_AUTHOR_EMAIL: 'fixture@example.test',
    GIT_COMMITTER_NAME: 'Fixture',
    GIT_COMMITTER_EMAIL: 'fixture@example.test',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: dir,
  };
  const git = (...args: string[]) => runCommand('git', args, { cwd: work, env });
  await mkdir(work);
  await git('init', '--quiet', '--initial-branch=main');
  const commits: string[] = [];
  for (const commit of FIXTURE_COMMITS) {
    for (const [file, content] of Object.entries(commit.files)) {
      await mkdir(dirname(join(work, file)), { recursive: true });
      await writeFile(join(work, file), content);
    }
    await git('add', '--all');
    await git('commit', '--quiet', '-m', commit.message);
    commits.push((await git('rev-parse', 'HEAD')).trim());
  }
  await runCommand('git', ['clone', '--quiet', '--bare', work, bare], { env });
  await chmod(dir, 0o755);
  await runCommand('chmod', ['-R', 'a+rX', dir]);
  if (options.owner && process.getuid?.() === 0) await runCommand('chown', ['-R', options.owner, dir]);
  const files = FIXTURE_COMMITS.map((commit) => commit.files);
  return {
    path: bare,
    commits,
    files,
    async commit(message, changed, author) {
      for (const [file, content] of Object.entries(changed)) {
        await mkdir(dirname(join(work, file)), { recursive: true });
        await writeFile(join(work, file), content);
      }
      // Once chowned to the SSH user, the work tree needs the process's safe.directory (global config).
      const trusted = process.env.GIT_CONFIG_GLOBAL
        ? { GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL }
        : {};
      const callEnv = { ...env, ...trusted, ...(author ? { GIT_AUTHOR_NAME: author } : {}) };
      const run = (...args: string[]) => runCommand('git', args, { cwd: work, env: callEnv });
      await run('add', '--all');
      await run('commit', '--quiet', '-m', message);
      const sha = (await run('rev-parse', 'HEAD')).trim();
      await run('push', '--quiet', bare, 'main');
      await runCommand('chmod', ['-R', 'a+rX', dir]);
      if (options.owner && process.getuid?.() === 0) await runCommand('chown', ['-R', options.owner, dir]);
      commits.push(sha);
      files.push(changed);
      return sha;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
