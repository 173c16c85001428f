/**
 * Safe file-system primitives: every access is relative to an open directory, never follows a
 * symlink, never blocks on a FIFO. `core.ts` opens, reads and describes; `list.ts` lists; `write.ts` writes;
 * `remove.ts` unlinks and deletes trees; `fifo.ts` and `processes.ts` tell whether a supervisor runs.
 */
export * from './core.js';
export * from './list.js';
export * from './write.js';
export * from './remove.js';
export * from './fifo.js';
export * from './processes.js';
