/**
 * Tests that need a host facility (real s6, root): `needsS6(test)('title', impl)` declares the
 * test normally when the facility is there. When it is missing the test is *skipped* outside CI,
 * with the reason in its title and printed once, so a green run never hides work it did not do;
 * under CI (env `CI` non-empty) it is declared as a failing test that says what to install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { ExecutionContext, Implementation, TestFn } from 'ava';
import { hasS6 } from './s6.js';

/** Something a test needs from the host. */
export interface Requirement {
  /** Short name for messages: 's6', 'root'. */
  readonly what: string;
  readonly isMet: () => boolean;
  /** What a person does to get it. */
  readonly howTo: string;
}

/** The s6 tools on PATH (test/helpers/s6.ts starts a private s6-svscan with them). */
export const S6: Requirement = { what: 's6', isMet: hasS6, howTo: 'apt-get install s6 execline' };

/** strace(1), to see which system calls a child process makes. */
export const STRACE: Requirement = {
  what: 'strace',
  isMet: () => spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0,
  howTo: 'apt-get install strace',
};

/** promtool(1), Prometheus' checker of expositions and alert rules. */
export const PROMTOOL: Requirement = {
  what: 'promtool',
  isMet: () => spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0,
  howTo: 'apt-get install prometheus',
};

/** An IPv6 address on the loopback interface (a server may listen on [::1]). */
export const IPV6_LOOPBACK: Requirement = {
  what: 'IPv6 loopback',
  isMet: () => {
    try {
      return /\slo$/m.test(readFileSync('/proc/net/if_inet6', 'utf8'));
    } catch {
      return false;
    }
  },
  howTo: 'enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0)',
};

/** No reconcile-gateways in /usr/local/bin, where the example scripts look last for it. */
export const NO_GLOBAL_INSTALL: Requirement = {
  what: 'a machine without a global install',
  isMet: () => !existsSync('/usr/local/bin/reconcile-gateways'),
  howTo: 'npm uninstall -g reconcile-gateways: the scripts would find /usr/local/bin/reconcile-gateways',
};

/** A PID namespace with its own /proc (root with CAP_SYS_ADMIN): a pass that sees none of s6's processes. */
export const PID_NAMESPACE: Requirement = {
  what: 'PID namespaces',
  isMet: () => spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0,
  howTo: 'run the tests as root with CAP_SYS_ADMIN (unshare --pid --fork --mount-proc must work)',
};

/** Running as uid 0 (chown, tmpfs mounts, a second uid). */
export const ROOT: Requirement = { what: 'root', isMet: () => process.getuid?.() === 0, howTo: 'run the tests as root' };

/** What to do with a test whose requirements are as given. */
export type Decision =
  { readonly kind: 'run' } | { readonly kind: 'skip'; readonly reason: string } | { readonly kind: 'fail'; readonly reason: string };

/** True when env says this is a CI run (any non-empty `CI`). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] !== undefined && env['CI'] !== '';
}

/** Decides run, skip or fail: pure, so the policy itself has a test. */
export function decide(requirements: readonly Requirement[], ci: boolean): Decision {
  const missing = requirements.filter((r) => !r.isMet());
  if (missing.length === 0) return { kind: 'run' };
  const reason = missing.map((r) => `${r.what} is not available (${r.howTo})`).join('; ');
  return ci ? { kind: 'fail', reason: `${reason}: required under CI` } : { kind: 'skip', reason };
}

/** A test declarer restricted to the plain `(title, implementation)` form. */
export interface GatedTest<Context> {
  (title: string, implementation: Implementation<[], Context>): void;
  serial(title: string, implementation: Implementation<[], Context>): void;
}

const announced = new Set<string>();

/** Wraps ava's `test` so every test declared through it needs all of `requirements`. */
export function needs<Context>(test: TestFn<Context>, ...requirements: readonly Requirement[]): GatedTest<Context> {
  const declare =
    (serial: boolean) =>
    (title: string, implementation: Implementation<[], Context>): void => {
      const decision = decide(requirements, isCi());
      const base = serial ? test.serial : test;
      if (decision.kind === 'run') base(title, implementation);
      else if (decision.kind === 'fail') base(title, (t: ExecutionContext<Context>) => t.fail(decision.reason));
      else {
        if (!announced.has(decision.reason)) {
          announced.add(decision.reason);
          console.warn(`skipping tests: ${decision.reason}`);
        }
        (serial ? test.serial.skip : test.skip)(`${title} [skipped: ${decision.reason}]`, implementation);
      }
    };
  return Object.assign(declare(false), { serial: declare(true) });
}

/** `needs(test, S6)`: the test runs a real s6-svscan. */
export function needsS6<Context>(test: TestFn<Context>): GatedTest<Context> {
  return needs(test, S6);
}

/** `needs(test, ROOT)`: the test must run as root. */
export function needsRoot<Context>(test: TestFn<Context>): GatedTest<Context> {
  return needs(test, ROOT);
}
