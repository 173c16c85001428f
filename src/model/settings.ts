/** Settings and the pass mode: what every layer is configured with. Types only. */

/** Which pass is running: the cont-init one-shot or a live re-sync. */
export type Mode = 'boot' | 'sync';

/** Tool settings, after defaults were merged with the config file (see schemas/config.schema.json). */
export interface Settings {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shebang: string;
  readonly gatewayCommand: string;
  readonly s6BinDir: string;
  readonly servicePrefix: string;
  readonly bootLogMaxBytes: number;
  /** Who owns a new slot's supervise skeleton: upstream's hermes user, or root with group access. */
  readonly superviseOwner: 'user' | 'root';
  readonly multiplexPolicy: 'gate' | 'fold';
}
