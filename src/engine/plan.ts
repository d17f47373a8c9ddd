import type { SlipwayErrorCode } from '../errors.js';

/**
 * The plain objects the core hands the engine, and the records the engine hands back.
 * No database types here: the engine knows nothing about how these are stored.
 */

export type TransportKind = 'ssh' | 'local';

export interface PlanServer {
  id: string;
  name: string;
  host: string;
  port: number;
  user: string;
  /** Absolute path holding releases/, shared/ and current. */
  deployPath: string;
  transport: TransportKind;
  /** Pinned host key (`SHA256:…`); null/undefined = not pinned yet (trust on first use). */
  hostKeyFingerprint?: string | null;
}

export interface LinkedFolder {
  /** Path inside the release that becomes a symlink. */
  from: string;
  /** Path inside `shared/` it points to. */
  to: string;
}

export type HookAction = 'clone' | 'install' | 'activate' | 'purge';
export type HookTiming = 'before' | 'after';

export interface PlanHook {
  id: string;
  name: string;
  script: string;
  /** Run through `sudo -n -u <runAs>`; null = as the connecting user. */
  runAs?: string | null;
  action: HookAction;
  timing: HookTiming;
  order: number;
  /** Servers it runs on; null = all. */
  serverIds: string[] | null;
}

/** What every remote operation needs to reach the servers. */
export interface ConnectionSettings {
  /** The project's OpenSSH-format private key. */
  privateKey: string;
  /** How many servers are worked on at once. */
  concurrency: number;
  /** Longest a single step (or housekeeping command) may run. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface DeploymentPlan extends ConnectionSettings {
  deploymentId: string;
  /** `<UTC yyyymmddHHMMSS>-<deployment id>`; see formatReleaseName. */
  releaseName: string;
  /** Git URL or absolute path the servers fetch from. */
  repository: string;
  /** Full commit sha (40 or 64 hex). */
  commit: string;
  servers: PlanServer[];
  linkedFolders: LinkedFolder[];
  /** Plaintext env file, held in memory only; written to shared/.env with mode 0600. */
  envFile?: string | null;
  installCommand?: string | null;
  hooks: PlanHook[];
  keepReleases: number;
  /** Extra values to redact from recorded output (env values and the private key are added). */
  secrets: string[];
  /**
   * An HTTP proxy on the Slipway host's loopback that guards outbound targets: `local` servers
   * (the Slipway host itself) fetch http(s) repositories through it, so an internal address is
   * refused at connect time and on every redirect. Remote servers fetch on their own network.
   */
  gitProxy?: string | null;
}

export interface RollbackPlan extends ConnectionSettings {
  deploymentId: string;
  servers: PlanServer[];
  secrets?: string[];
}

export type RunPhase = 'prepare' | 'activate' | 'purge' | 'cleanup' | 'revert' | 'rollback' | 'done';
export type StepAction =
  | 'connect'
  | 'clone'
  | 'link'
  | 'install'
  | 'activate'
  | 'purge'
  | 'cleanup'
  | 'revert'
  | 'rollback'
  | 'hook';

/** One step of a server's run: an action or a hook. `key` is unique per server and run. */
export interface StepInfo {
  key: string;
  /** For people: "Clone new release", "Hook \"migrate\" (before install)". */
  name: string;
  action: StepAction;
  hookId: string | null;
  timing: HookTiming | null;
}

export type StepStatus = 'finished' | 'failed' | 'cancelled' | 'skipped';

export interface StepOutcome {
  status: StepStatus;
  /** Exit code of the step's commands; null when it never ran to an exit (killed, skipped, no connection). */
  exitCode: number | null;
  /** Last few KiB of output, secrets redacted. */
  outputTail: string;
  /** Output up to a cap (head and tail kept), secrets redacted. */
  output: string;
  startedAt: Date | null;
  finishedAt: Date;
  /** Why it failed or was cancelled, when the output alone does not say. */
  message: string | null;
  /** command_failed (non-zero exit), timeout, cancelled, ssh_failed, host_key_mismatch, …; null when it finished. */
  errorCode: SlipwayErrorCode | null;
}

export interface StepRecord extends StepOutcome {
  step: StepInfo;
}

/**
 * Observer calls are made as things happen, one at a time and in order, and are never waited
 * for: a call should record what it is told and return at once (a returned promise is not
 * awaited; its rejection ends up in the result's `observerErrors`). The run's result does not
 * wait for the observer either: an observer that writes somewhere settles its writes itself.
 */
export interface RunObserver {
  onStepStarted(serverId: string, step: StepInfo, startedAt: Date): void | Promise<void>;
  onStepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): void | Promise<void>;
  /** A server without a pinned key was reached: persist this fingerprint as its pin. */
  onHostKeyLearned(serverId: string, fingerprint: string): void | Promise<void>;
  onPhase?(phase: RunPhase): void | Promise<void>;
  /**
   * The one call that is awaited: made once every server has prepared, before any server is
   * switched. The core records there that activation begins (crash recovery reads it); if it
   * throws, nobody is switched and the deployment fails.
   */
  beforeActivation?(): Promise<void>;
}

export interface RunFailure {
  serverId: string;
  serverName: string;
  step: StepInfo;
  exitCode: number | null;
  outputTail: string;
  errorCode: SlipwayErrorCode;
  /** One sentence for people, e.g. `Hook "migrate" failed on web-2 (exit 3).` */
  message: string;
}

export interface ServerRunResult {
  serverId: string;
  /** Release `current` pointed to before this run (null: none, or never reached). */
  previousRelease: string | null;
  /** Release `current` points to after this run, as far as the engine knows. */
  currentRelease: string | null;
  steps: StepRecord[];
}

export interface DeploymentResult {
  status: 'finished' | 'failed' | 'cancelled';
  /** True when the new release is live on every server (it may still be `failed`, e.g. purge failed). */
  activated: boolean;
  failure: RunFailure | null;
  servers: ServerRunResult[];
  /** Errors thrown by observer callbacks; the run itself carried on. */
  observerErrors: unknown[];
}

export interface RollbackResult {
  status: 'finished' | 'failed';
  failure: RunFailure | null;
  servers: ServerRunResult[];
  observerErrors: unknown[];
}

export interface ServerInspection {
  serverId: string;
  /** Release name `current` points to; null when there is none. */
  currentRelease: string | null;
  /** Release directories, oldest first. */
  releases: string[];
  /** Set when the server could not be inspected (connection refused, host key changed, …). */
  error: string | null;
  errorCode: string | null;
}
