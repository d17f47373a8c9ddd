/**
 * Secret values never reach a record or a log: every recorded output passes through a Redactor
 * built from the env file's values, the project's private key and any other secrets the core
 * passes. Values shorter than MIN_SECRET_LENGTH are ignored — redacting "1" or "on" would
 * shred ordinary output and protect nothing.
 */

import { parse as parseDotenv } from 'dotenv';

/** The floor for any secret: shorter values cannot be told from ordinary output. */
export const MIN_SECRET_LENGTH = 3;
/** An env value this long is redacted whatever its key. */
export const MIN_ENV_VALUE_LENGTH = 6;
/** Other secrets the core passes (repository credentials, key lines). */
const MIN_OTHER_SECRET_LENGTH = 4;
export const REDACTED = '[redacted]';

/** Keys whose values are secrets at any length (down to MIN_SECRET_LENGTH). */
const SECRET_KEY =
  /pass|pwd|secret|token|key|private|credential|auth|salt|signature|cert|cookie|session|dsn/i;
/** `KEY=rest` (optionally `export KEY = rest`), as dotenv and shells write assignments. */
const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/;

export function isSecretLookingKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'" || first === '`') && value.endsWith(first))
    return value.slice(1, -1);
  return value;
}

/** Backslash escapes as shells and most dotenv readers resolve them inside double quotes. */
function resolveEscapes(value: string): string {
  return value.replace(/\\([\\"'`$nrt])/g, (_all, c: string) =>
    c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
  );
}

/** Where the quote opened at 0 closes (a backslash escapes it inside double quotes), or -1. */
function closingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\' && quote === '"') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/**
 * Every form in which an env file's values may reach output, by key. The values as dotenv
 * parses them (quotes, escapes, inline comments, `export`, multi-line quoted values) come first;
 * readers differ in small ways (phpdotenv and shells resolve `\"`, dotenv keeps it; shells need a
 * space before an inline `#`), so the other readings of each assignment are added too, and each
 * line of a multi-line value, since a tool may print just one.
 */
function envValueForms(envFile: string): Map<string, Set<string>> {
  const forms = new Map<string, Set<string>>();
  const add = (key: string, value: string) => {
    const set = forms.get(key) ?? new Set<string>();
    forms.set(key, set);
    for (const form of [value, resolveEscapes(value), value.trim()]) {
      set.add(form);
      for (const line of form.split(/\r?\n/)) set.add(line.trim());
    }
  };
  for (const [key, value] of Object.entries(parseDotenv(envFile))) add(key, value);
  const lines = envFile.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = ASSIGNMENT.exec(lines[i]!);
    if (!match) continue;
    const key = match[1]!;
    let raw = match[2]!.trim();
    const quote = raw[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      // A quoted value may run over several lines (PEM keys in env files are common)…
      while (closingQuote(raw, quote) === -1 && i + 1 < lines.length) raw += `\n${lines[++i]}`;
      // …and be followed by an inline comment: `"value" # why`.
      const end = closingQuote(raw, quote);
      if (end !== -1) raw = raw.slice(0, end + 1);
    }
    add(key, raw);
    add(key, unquote(raw));
    // Unquoted: a ` #` starts a comment for shells; dotenv cuts at any `#`.
    const commentless = raw.replace(/\s+#.*$/, '');
    add(key, commentless);
    add(key, unquote(commentless));
  }
  return forms;
}

/**
 * The values of a dotenv file worth redacting: every form of every value of 6+ characters, and of
 * every value of a secret-looking key (`*_PASSWORD`, `*_TOKEN`, `*_KEY`, …) of 3+ characters.
 */
export function envFileSecretValues(envFile: string): string[] {
  const values: string[] = [];
  for (const [key, forms] of envValueForms(envFile)) {
    const min = isSecretLookingKey(key) ? MIN_SECRET_LENGTH : MIN_ENV_VALUE_LENGTH;
    for (const form of forms) if (form.length >= min) values.push(form);
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
    ...[
      ...(input.secrets ?? []),
      ...(input.privateKey ? privateKeySecretValues(input.privateKey) : []),
    ].filter((secret) => secret.length >= MIN_OTHER_SECRET_LENGTH),
    ...(input.envFile ? envFileSecretValues(input.envFile) : []),
  ]);
}
