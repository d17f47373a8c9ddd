import type { ConnectionSettings, PlanServer } from '../plan.js';
import { LocalTransport } from './local-transport.js';
import { SshTransport } from './ssh-transport.js';
import type { Transport } from './transport.js';

/** The transport a plan's server asks for, wired to report a learned host key. */
export function createTransport(
  server: PlanServer,
  settings: Pick<ConnectionSettings, 'privateKey' | 'connectTimeoutMs'>,
  onHostKeyLearned: (fingerprint: string) => void,
): Transport {
  if (server.transport === 'local') return new LocalTransport({ label: server.name });
  return new SshTransport({
    label: server.name,
    host: server.host,
    port: server.port,
    username: server.user,
    privateKey: settings.privateKey,
    knownHostKey: server.hostKeyFingerprint ?? null,
    onHostKeyLearned,
    connectTimeoutMs: settings.connectTimeoutMs,
  });
}
