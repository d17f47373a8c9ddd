/**
 * Text Slipway refuses wherever it comes from (REST, chat): a NUL character, which PostgreSQL
 * cannot store in text and which cuts strings short in C programs and shells, and a lone UTF-16
 * surrogate (half a character), which cannot be encoded as UTF-8 at all. Below every layer, so
 * the API and chat refuse the same things with the same words.
 */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (!value.isWellFormed()) return 'contains a broken character (half of a UTF-16 surrogate pair)';
  return null;
}

/**
 * Every string in a parsed JSON value (object keys included) with what is wrong with it, by
 * path (`servers.0`, `description`); empty when all is well.
 */
export function textProblems(value: unknown, path = ''): Record<string, string> {
  const found: Record<string, string> = {};
  const visit = (item: unknown, at: string, depth: number) => {
    if (depth > 64) return;
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem) found[at || 'input'] = problem;
      return;
    }
    if (Array.isArray(item)) {
      for (const [i, element] of item.entries()) visit(element, at ? `${at}.${i}` : String(i), depth + 1);
      return;
    }
    if (item && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) {
        const keyProblem = textProblem(key);
        const where = at ? `${at}.${keyProblem ? JSON.stringify(key) : key}` : key;
        if (keyProblem) found[where] = `its name ${keyProblem}`;
        visit(element, where, depth + 1);
      }
    }
  };
  visit(value, path, 0);
  return found;
}
