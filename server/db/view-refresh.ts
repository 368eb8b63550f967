/**
 * Serialises the rebuilds of one in-memory view (cohorts, live rollouts,
 * the transparency log): one pass at a time, and a call made during a pass
 * gets one more whole pass after it, shared by every call made meanwhile.
 * Two overlapping passes could otherwise finish out of order and leave the
 * older picture in place.
 */
export function serialRefresh(rebuild: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (!running) {
      running = rebuild().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return refresh();
      });
    return queued;
  };
  return refresh;
}
