/**
 * docs/metrics.md's alert rules are meant to be pasted into a Prometheus: `promtool check rules`
 * must accept them, and `promtool test rules` shows they fire when they should, including the
 * one for a watcher whose series are gone. Under CI promtool must exist (Debian's prometheus):
 * test/helpers/needs.ts.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../helpers/s6.js';
import { PROMTOOL, needs } from '../../helpers/needs.js';

/** The YAML block under "### Alert rule" in docs/metrics.md. */
function rulesOfDocs(): string {
  const text = readFileSync(path.join(repoRoot(), 'docs', 'metrics.md'), 'utf8');
  const section = text.slice(text.indexOf('### Alert rule'));
  const start = section.indexOf('```yaml\n') + '```yaml\n'.length;
  return section.slice(start, section.indexOf('```', start));
}

/** promtool's verdict and output. */
function promtool(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}${r.error?.message ?? ''}` };
}

const TESTS = `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'reconcile_gateways_service_drift{service="gateway-coder",condition="IntentRunningButDown"}'
        values: '1x10'
      - series: 'reconcile_gateways_service_drift{service="gateway-crash",condition="CrashLooping"}'
        values: '1x10'
      - series: 'reconcile_gateways_service_drift{service="gateway-mute",condition="LoggerDown"}'
        values: '1x10'
      - series: 'reconcile_gateways_last_success_timestamp_seconds{instance="w"}'
        values: '0 60 120 _x20'
    alert_rule_test:
      - eval_time: 6m
        alertname: GatewayCrashLooping
        exp_alerts:
          - exp_labels: { severity: page, service: gateway-crash, condition: CrashLooping }
            exp_annotations:
              summary: "gateway-crash keeps dying"
              description: "More than --crash-restarts deaths in --crash-window: see its log and \`reconcile-gateways status\`."
      - eval_time: 3m
        alertname: GatewayLoggerDown
        exp_alerts: []
      - eval_time: 6m
        alertname: GatewayLoggerDown
        exp_alerts:
          - exp_labels: { severity: page, service: gateway-mute, condition: LoggerDown }
            exp_annotations:
              summary: "gateway-mute's logger is not running: its output is lost, and it hangs once the pipe fills"
              description: "s6-log cannot run (its error is in s6-svscan's output, the container log): check that the gateway's log directory exists as a directory its user can write; \`reconcile-gateways status\` names it."
      - eval_time: 2m
        alertname: ReconcilerAbsent
        exp_alerts: []
      - eval_time: 3m
        alertname: GatewayIntentRunningButDown
        exp_alerts: []
      - eval_time: 6m
        alertname: GatewayIntentRunningButDown
        exp_alerts:
          - exp_labels: { severity: page, service: gateway-coder, condition: IntentRunningButDown }
            exp_annotations:
              summary: "gateway-coder is down although its intent is running"
              description: "s6 holds gateway-coder down (finish exited 125 or s6-svc -d): run \`hermes gateway start\`, or the watcher with --heal; after exit 78, a config error that --heal leaves alone, fix the cause first. Or s6 cannot start its ./run at all: \`reconcile-gateways status\` says so, and s6-svscan's output why."
  # A watcher whose last success stops moving: stale after 10 minutes (and 1 more of for:).
  - interval: 1m
    input_series:
      - series: 'reconcile_gateways_last_success_timestamp_seconds{instance="w"}'
        values: '0x20'
    alert_rule_test:
      - eval_time: 9m
        alertname: ReconcilerStale
        exp_alerts: []
      - eval_time: 12m
        alertname: ReconcilerStale
        exp_alerts:
          - exp_labels: { severity: ticket, instance: w }
            exp_annotations:
              summary: "no successful reconcile pass for 10 minutes"
      - eval_time: 12m
        alertname: ReconcilerAbsent
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'reconcile_gateways_last_success_timestamp_seconds{instance="w"}'
        values: '0 60 120 _x20'
    alert_rule_test:
      - eval_time: 20m
        alertname: ReconcilerAbsent
        exp_alerts:
          - exp_labels: { severity: ticket }
            exp_annotations:
              summary: "no reconcile-gateways metrics: is the watcher running and scraped?"
`;

needs(test, PROMTOOL)('the alert rules in docs/metrics.md pass promtool, and fire when the watcher is gone', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rg-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'rules.yml'), rulesOfDocs());
  writeFileSync(path.join(dir, 'tests.yml'), TESTS);
  const check = promtool(['check', 'rules', path.join(dir, 'rules.yml')]);
  t.true(check.ok, check.out);
  const run = promtool(['test', 'rules', path.join(dir, 'tests.yml')]);
  t.true(run.ok, run.out);
});
