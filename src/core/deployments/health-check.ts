import { isOutboundRefusal, type OutboundFetch } from '../../net/outbound-guard.js';

/**
 * After activation: is the new release answering? A few tries, because a just-restarted
 * application often needs a moment. Any 2xx or 3xx counts as healthy.
 */
export async function checkHealth(
  url: string,
  options: { attempts?: number; delayMs?: number; timeoutMs?: number; fetch: OutboundFetch },
): Promise<{ healthy: boolean; detail: string }> {
  const attempts = options.attempts ?? 3;
  let detail = '';
  let refused = false;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      // The URL is a user's: through the outbound guard, which refuses internal addresses.
      const response = await options.fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 400)
        return { healthy: true, detail: `HTTP ${response.status}` };
      detail = `HTTP ${response.status}`;
    } catch (error) {
      detail = (error as Error).message;
      // Refused is refused: asking again will not make the address public.
      refused = isOutboundRefusal(error);
      if (refused) break;
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 2000));
  }
  return { healthy: false, detail: refused ? detail : `${url} answered ${detail} after ${attempts} tries` };
}
