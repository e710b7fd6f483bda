/** Waits out the end of a minute, so a burst test cannot straddle two fixed windows. */
export async function awayFromMinuteBoundary(marginMs = 8_000) {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 60_000 - marginMs)
    await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
}
