/** Runs `fn` over `n` tasks with at most `limit` in flight (bounds memory held by outputs). */
export async function limited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) await fn(next++);
  });
  await Promise.all(lanes);
}
