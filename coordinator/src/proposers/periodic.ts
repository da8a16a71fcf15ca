/** Run `tick` now and every `intervalMs`, never two at once; errors are logged, not thrown. */
import { toError } from '@ratchet/shared';

export function periodic(tick: () => Promise<unknown>, intervalMs: number, log: (msg: string) => void) {
  let timer: NodeJS.Timeout | null = null;
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      await tick();
    } catch (e) {
      log(toError(e).message);
    } finally {
      busy = false;
    }
  };
  return {
    start() {
      if (timer) return;
      void run();
      timer = setInterval(run, intervalMs);
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
