/**
 * Error classes with a stable code. Exit codes are mapped from them in cli/ only.
 */

/** Bad arguments or an invalid config: nothing was changed (exit 100). */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The pass cannot be meaningful: HERMES_HOME or the scandir is unusable; nothing changed (exit 111). */
export class FatalError extends Error {
  readonly code = 'fatal';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FatalError';
  }
}

/** Another run holds the lock (exit 3). */
export class LockHeldError extends Error {
  readonly code = 'locked';
  /** Who holds it (`pid N: command line`), when /proc tells. */
  readonly holder: string | undefined;
  constructor(message: string, options?: ErrorOptions & { holder?: string | undefined }) {
    super(message, options);
    this.name = 'LockHeldError';
    this.holder = options?.holder;
  }
}
