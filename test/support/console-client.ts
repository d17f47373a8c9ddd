import type { Reply } from '../../src/chat/model.js';

interface ConsoleMessage {
  id: number;
  author: string | null;
  reply: Reply;
  visibleTo: string | null;
  echo?: boolean;
}

interface MessageSource {
  messages(): ConsoleMessage[];
}

interface SignInIssuer {
  issueLink(
    actor: { memberId: string | null; name: string; source: string },
    identity: { platform: 'web'; workspace: string; userId: string; displayName: string },
  ): Promise<{ url: string }>;
}

/**
 * A person in the web console, over real HTTP: signs in as web:local:<user> with a one-time link
 * issued by the service (as `slipway console-login` does; a session cookie comes back), types
 * commands and clicks buttons as the page does. What the console shows is read from the adapter's
 * message history (what its server-sent events carry).
 */
export async function consoleUser(
  service: { url: string; signIn: SignInIssuer },
  user: string,
  adapter: MessageSource,
) {
  const baseUrl = service.url;
  const link = await service.signIn.issueLink(
    { memberId: null, name: 'test setup', source: 'test' },
    { platform: 'web', workspace: 'local', userId: user, displayName: user },
  );
  const token = /#sign-in=([A-Za-z0-9_-]+)$/.exec(link.url)?.[1];
  const login = await fetch(`${baseUrl}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ token }),
  });
  if (login.status !== 200) throw new Error(`console sign-in: ${login.status} ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const post = async (path: string, body: unknown): Promise<number> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: baseUrl },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: number }).id;
  };
  // A private answer is addressed to the person's identity, platform:workspace:user.
  const identity = `web:local:${user}`;
  const visible = () =>
    adapter.messages().filter((m) => !m.echo && (m.visibleTo === null || m.visibleTo === identity));
  return {
    identity,
    /** Types a command; returns the message Slipway answered with. */
    async type(text: string): Promise<ConsoleMessage> {
      const id = await post('/console/api/command', { text });
      const message = adapter.messages().find((m) => m.id === id);
      if (!message) throw new Error(`no console message ${id} for "${text}"`);
      return message;
    },
    /** Clicks a button of a message; returns the message Slipway answered with (or the replaced one). */
    async click(messageId: number, actionId: string, value: string): Promise<ConsoleMessage> {
      const id = await post('/console/api/action', { actionId, value, messageId });
      const message = adapter.messages().find((m) => m.id === id);
      if (!message) throw new Error(`no console message ${id} after clicking ${actionId}`);
      return message;
    },
    message(id: number): ConsoleMessage | undefined {
      return adapter.messages().find((m) => m.id === id);
    },
    /** Waits until a message this user sees matches. */
    async waitFor(match: (m: ConsoleMessage) => boolean, timeoutMs = 30_000): Promise<ConsoleMessage> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = visible().find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no such console message; last: ${JSON.stringify(visible().slice(-3), null, 1)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

export type ConsoleUser = Awaited<ReturnType<typeof consoleUser>>;

/** Everything a reply shows, as one string (title, text, fields, footer, button labels). */
export function replyText(reply: Reply): string {
  return [
    reply.title,
    reply.text,
    ...(reply.fields ?? []).map((f) => `${f.label}: ${f.value}`),
    reply.code,
    reply.footer,
    ...(reply.buttons ?? []).map((b) => `[${b.label}]`),
  ]
    .filter(Boolean)
    .join('\n');
}
