/**
 * After activation: is the new release answering? A few tries, because a just-restarted
 * application often needs a moment. Any 2xx or 3xx counts as healthy.
 */
export async function checkHealth(
  url: string,
  options: { attempts?: number; delayMs?: number; timeoutMs?: number } = {},
): Promise<{ healthy: boolean; detail: string }> {
  const attempts = options.attempts ?? 3;
  let detail = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 400)
        return { healthy: true, detail: `HTTP ${response.status}` };
      detail = `HTTP ${response.status}`;
    } catch (error) {
      detail = (error as Error).message;
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 2000));
  }
  return { healthy: false, detail: `${url} answered ${detail} after ${attempts} tries` };
}
