import type { Reply, ReplyStatus } from '../../src/chat/model.js';

const COLOR: Record<ReplyStatus, string> = {
  info: '#1d4ed8',
  success: '#15803d',
  warning: '#b45309',
  error: '#b91c1c',
  pending: '#4b5563',
  running: '#1d4ed8',
};

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A Reply as a small HTML e-mail body (inline styles only: mail clients drop style sheets). */
export function replyToHtml(reply: Reply): string {
  const color = COLOR[reply.status ?? 'info'];
  const parts: string[] = [];
  if (reply.title)
    parts.push(`<h2 style="margin:0 0 8px;color:${color};font-size:18px">${escapeHtml(reply.title)}</h2>`);
  parts.push(`<p style="margin:0 0 12px">${escapeHtml(reply.text).replace(/\n/g, '<br>')}</p>`);
  if (reply.fields?.length) {
    const rows = reply.fields
      .map(
        (field) =>
          `<tr><td style="padding:2px 12px 2px 0;color:#6b7280;vertical-align:top">${escapeHtml(field.label)}</td><td style="padding:2px 0">${escapeHtml(field.value)}</td></tr>`,
      )
      .join('');
    parts.push(`<table style="border-collapse:collapse;margin:0 0 12px">${rows}</table>`);
  }
  if (reply.code) {
    parts.push(
      `<pre style="background:#f3f4f6;padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap">${escapeHtml(reply.code)}</pre>`,
    );
  }
  if (reply.footer)
    parts.push(`<p style="color:#9ca3af;font-size:12px;margin:12px 0 0">${escapeHtml(reply.footer)}</p>`);
  return `<!doctype html><html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#111827">${parts.join('')}</body></html>`;
}
