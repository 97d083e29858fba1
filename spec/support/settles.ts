/**
 * Retries a block of assertions until it passes or the time is up; then
 * rethrows its last failure, so the report shows what was still wrong.
 */
export async function settles(check: () => void | Promise<void>, timeoutMs = 5000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
