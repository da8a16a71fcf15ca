/**
 * One-at-a-time sections shared by the slots of one worker process: the GPUs of a box share
 * its cache, so the first jobs of two slots must not fetch the same data file or run the
 * same prepare step at once.
 */
export type Serial = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function createSerial(): Serial {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    tails.set(key, next);
    void next
      .finally(() => {
        if (tails.get(key) === next) tails.delete(key);
      })
      .catch(() => {});
    return next;
  };
}
