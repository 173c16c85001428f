/**
 * A child process for the crash tests: runs one reconcile pass the way the CLI does (lock, host
 * facts, planPass, applyPass), with the fault-injection seam armed to SIGKILL itself just before operation
 * number `killAt` takes effect. Usage: node pass-driver.js '<json DriverRequest>'.
 */
import { acquireLock } from '../../../src/lock.js';
import { defaultLockPath, openStateDir } from '../../../src/state-dir/index.js';
import { applyPass, planPass } from '../../../src/reconcile.js';
import { closeDir, openRoot } from '../../../src/safe-fs/index.js';
import { loadSettings } from '../../../src/cli/config.js';

/** What the driver is asked to do. */
export interface DriverRequest {
  readonly mode: 'boot' | 'sync';
  readonly home: string;
  readonly scandir: string;
  readonly config: string;
  /** 1-based index of the operation before which the process kills itself. */
  readonly killAt: number;
  readonly restartChanged?: boolean;
  /** Kill just after the first removed slot reached the trash, before `-an` (issue 16 #7). */
  readonly killAfterTrash?: boolean;
}

async function main(request: DriverRequest): Promise<void> {
  const settings = await loadSettings(request.config);
  const home = openRoot(request.home);
  const scandir = openRoot(request.scandir);
  const lock = await acquireLock(defaultLockPath(request.scandir), true, { prepare: () => closeDir(openStateDir(scandir, true)) });
  let seen = 0;
  const planned = planPass({
    mode: request.mode,
    home,
    scandir,
    hermesHome: request.home,
    settings,
    prune: request.mode === 'sync',
    allowEmpty: false,
    restartChanged: request.restartChanged === true,
    host: { argv: [], env: {}, config: { kind: 'missing' }, nowMs: Date.now() },
    isRoot: process.geteuid?.() === 0,
  });
  const result = await applyPass(planned, {
    beforeOperation: () => {
      seen += 1;
      if (seen === request.killAt) process.kill(process.pid, 'SIGKILL');
    },
    ...(request.killAfterTrash === true ? { afterTrash: () => process.kill(process.pid, 'SIGKILL') } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ operations: result.plan.operations.length, failed: result.results.filter((r) => r.status === 'failed').length })}\n`,
  );
  closeDir(scandir);
  closeDir(home);
  lock.release();
}

await main(JSON.parse(process.argv[2] ?? '{}') as DriverRequest);
