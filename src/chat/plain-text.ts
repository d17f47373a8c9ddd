import type { Reply, ReplyStatus } from './model.js';

const STATUS_WORD: Record<ReplyStatus, string> = {
  info: 'INFO',
  success: 'OK',
  warning: 'WARNING',
  error: 'FAILED',
  pending: 'PENDING',
  running: 'RUNNING',
};

/**
 * A Reply as plain text, for targets that show no formatting (generic webhooks, e-mail text
 * parts, logs): everything the rich renderings show except the buttons, which cannot be clicked.
 */
export function replyToPlainText(reply: Reply): string {
  const lines: string[] = [];
  const status = reply.status ? `[${STATUS_WORD[reply.status]}] ` : '';
  if (reply.title) lines.push(`${status}${reply.title}`, '');
  lines.push(reply.title ? reply.text : `${status}${reply.text}`);
  if (reply.fields?.length) {
    lines.push('');
    const width = Math.min(20, Math.max(...reply.fields.map((field) => field.label.length)));
    for (const field of reply.fields) lines.push(`${`${field.label}:`.padEnd(width + 2)}${field.value}`);
  }
  if (reply.code) {
    lines.push(
      '',
      ...reply.code
        .replace(/\s+$/, '')
        .split('\n')
        .map((line) => `    ${line}`),
    );
  }
  if (reply.footer) lines.push('', `-- ${reply.footer}`);
  return lines.join('\n');
}
