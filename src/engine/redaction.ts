/**
 * Secret values never reach a record or a log: every recorded output passes through a Redactor
 * built from the env file's values, the project's private key and any other secrets the core
 * passes. Values shorter than MIN_SECRET_LENGTH are ignored — redacting "1" or "yes" would
 * shred ordinary output and protect nothing.
 */

export const MIN_SECRET_LENGTH = 4;
export const REDACTED = '[redacted]';

function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first))
    return value.slice(1, -1);
  return value;
}

/** The values of a dotenv file (KEY=value, optional `export`, quotes, multi-line quoted values). */
export function envFileSecretValues(envFile: string): string[] {
  const values: string[] = [];
  const lines = envFile.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    let raw = line.slice(eq + 1).trim();
    const quote = raw[0];
    // A quoted value may run over several lines (PEM keys in env files are common).
    if ((quote === '"' || quote === "'") && (raw.length === 1 || !raw.endsWith(quote))) {
      while (i + 1 < lines.length && !raw.endsWith(quote!)) {
        i++;
        raw += `\n${lines[i]}`;
      }
    }
    const value = unquote(raw);
    values.push(raw, value, ...value.split('\n').map((part) => part.trim()));
  }
  return values;
}

/** The private key as a whole and line by line (a tool may print just part of it). */
export function privateKeySecretValues(privateKey: string): string[] {
  const lines = privateKey
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('-----'));
  return [privateKey.trim(), ...lines];
}

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    const unique = new Set<string>();
    for (const secret of secrets) if (secret.length >= MIN_SECRET_LENGTH) unique.add(secret);
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...unique].sort((a, b) => b.length - a.length);
  }

  /** Length of the longest secret: how far a secret cut in two by truncation can reach. */
  get longest(): number {
    return this.secrets[0]?.length ?? 0;
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.secrets)
      if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    return result;
  }
}

export function buildRedactor(input: {
  secrets?: string[];
  envFile?: string | null;
  privateKey?: string;
}): Redactor {
  return new Redactor([
    ...(input.secrets ?? []),
    ...(input.envFile ? envFileSecretValues(input.envFile) : []),
    ...(input.privateKey ? privateKeySecretValues(input.privateKey) : []),
  ]);
}
