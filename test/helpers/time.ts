/** Waits out the end of a minute, so a burst test cannot straddle two fixed windows. */
export async function awayFromMinuteBoundary(marginMs = 8_000) {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 60_000 - marginMs)
    await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
}

/** Polls `check` until it holds, failing the test after `ms`. */
export async function until(check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
