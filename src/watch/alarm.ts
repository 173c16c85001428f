/**
 * A sleep that something else can cut short: the controller waits on it between passes, and
 * events, SIGHUP and SIGTERM ring it.
 */

/** One sleeper at a time; `ring` wakes it (or makes the next sleep return at once). */
export class Alarm {
  #wake: (() => void) | undefined;
  #rung = false;

  /** Waits `ms` milliseconds or until rung. */
  sleep(ms: number): Promise<void> {
    if (this.#rung) {
      this.#rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      this.#wake = done;
    });
  }

  /** Wakes the current sleeper, or the next one if nobody sleeps. */
  ring(): void {
    if (this.#wake !== undefined) this.#wake();
    else this.#rung = true;
  }
}
