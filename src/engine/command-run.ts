import { isSlipwayError } from '../errors.js';
import { BoundedOutput } from './bounded-output.js';
import { forEachLimited } from './concurrency.js';
import type { ConnectionSettings, PlanServer } from './plan.js';
import { validateConnectionSettings, validateServers } from './plan-validation.js';
import { buildRedactor } from './redaction.js';
import type { TransportFactory } from './server-run.js';
import { shellQuote } from './shell-quote.js';

export interface CommandRun {
  /** Bash source run in the server's live release (`<deploy_path>/current`). */
  command: string;
  /** Exported to the command, names checked, values quoted. */
  env?: Record<string, string>;
  /** Values to redact from the output (the environment file's, for instance). */
  secrets?: string[];
}

export interface ServerCommandResult {
  serverId: string;
  serverName: string;
  /** null when it never ran to an exit (no connection, timeout). */
  exitCode: number | null;
  /** The end of the output, secrets redacted. */
  outputTail: string;
  /** Why it did not run to an exit, when it did not. */
  error: string | null;
}

const TAIL = 4096;

/**
 * Runs one command on every server (at most `concurrency` at once), each over its own connection,
 * in the live release: what a pipeline's smoke step does. Never throws for a command that fails
 * or a server that cannot be reached: each server's result says so.
 */
export async function runCommandOnServers(
  makeTransport: TransportFactory,
  servers: PlanServer[],
  settings: ConnectionSettings,
  run: CommandRun,
  onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
): Promise<ServerCommandResult[]> {
  validateServers(servers);
  validateConnectionSettings(settings);
  const redactor = buildRedactor({ secrets: run.secrets ?? [], privateKey: settings.privateKey });
  const exports = Object.entries(run.env ?? {}).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not an environment variable name: ${name}`);
    return `export ${name}=${shellQuote(value)}`;
  });
  const results: ServerCommandResult[] = [];
  await forEachLimited(servers, settings.concurrency, async (server) => {
    const transport = makeTransport(server, settings, (fingerprint) =>
      onHostKeyLearned?.(server.id, fingerprint),
    );
    const output = new BoundedOutput(TAIL * 2);
    const script = [
      'set -o pipefail',
      `cd ${shellQuote(`${server.deployPath}/current`)} || exit 1`,
      ...exports,
      run.command,
    ].join('\n');
    const base = { serverId: server.id, serverName: server.name };
    try {
      const result = await transport.exec(script, {
        timeoutMs: settings.commandTimeoutMs,
        onOutput: (chunk) => output.append(chunk),
      });
      results.push({
        ...base,
        exitCode: result.exitCode,
        outputTail: output.render(redactor).outputTail,
        error: null,
      });
    } catch (error) {
      results.push({
        ...base,
        exitCode: null,
        outputTail: output.render(redactor).outputTail,
        error: isSlipwayError(error) ? error.message : String(error),
      });
    } finally {
      await transport.close();
    }
  });
  return servers.map((server) => results.find((r) => r.serverId === server.id)!);
}
