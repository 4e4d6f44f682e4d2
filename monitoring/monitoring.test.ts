import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as catalog from '../lib/telemetry/metrics';
import { requireBinary } from '../test/support/prometheus';
import {
  ALERTMANAGER_FILE,
  DASHBOARD_FILE,
  PROMETHEUS_RULE_FILE,
  prometheusRuleManifest,
  RULES_FILE,
  RULES_TEST_FILE,
  RUNBOOKS_DIR,
} from './prometheus-rule';
import { dashboardTargets, type GrafanaDashboard } from './queries';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const PROMETHEUS_DATASOURCE = '${datasource}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const POSTGRES_DATASOURCE = '${postgres}';

const rulesText = readFileSync(RULES_FILE, 'utf8');
const rules = parse(rulesText) as { groups: Array<{ name: string; rules: AlertRule[] }> };
const alerts = rules.groups.flatMap((group) => group.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as GrafanaDashboard;

/** Names a PromQL expression uses that look like the tracker's metrics. */
function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(saga_[a-z0-9_]+)/g)].map((match) =>
    (match[1] ?? '').replace(/_(bucket|sum|count)$/, ''),
  );
}

const knownMetrics = new Set(Object.values(catalog).map((metric) => metric.name));

function run(binary: string, args: string[]) {
  return spawnSync(binary, args, { encoding: 'utf8' });
}

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const result = run(requireBinary('promtool'), ['check', 'rules', RULES_FILE]);
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS: 4 rules found');
    expect(result.status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const result = run(requireBinary('promtool'), ['test', 'rules', RULES_TEST_FILE]);
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('are the four alerts of SPEC §5 with their severities', () => {
    expect(Object.fromEntries(alerts.map((rule) => [rule.alert, rule.labels.severity]))).toEqual({
      SagaFailureSpike: 'warning',
      SagaCompensationTimeout: 'critical',
      SagaTrackerConsumerLag: 'warning',
      SagaTrackerDown: 'critical',
    });
    const spike = alerts.find((rule) => rule.alert === 'SagaFailureSpike');
    expect(spike).toMatchObject({
      expr: expect.stringMatching(/increase\(saga_failed_total\{.*\}\[5m\]\)\) > 10$/),
      for: '2m',
    });
    const lag = alerts.find((rule) => rule.alert === 'SagaTrackerConsumerLag');
    expect(lag).toMatchObject({
      expr: expect.stringMatching(/saga_tracker_consumer_lag.*> 1000$/),
      for: '10m',
    });
    const timeout = alerts.find((rule) => rule.alert === 'SagaCompensationTimeout');
    expect(timeout?.expr).toContain('saga_failed_uncompensated');
  });

  it('give every alert a summary, a description and a runbook that exists', () => {
    for (const rule of alerts) {
      expect(rule.labels.service).toBe('saga-tracker');
      expect(rule.annotations.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations.description?.length).toBeGreaterThan(30);
      const runbook = /\/monitoring\/runbooks\/([a-z-]+\.md)$/.exec(rule.annotations.runbook_url ?? '');
      expect(runbook).not.toBeNull();
      const file = join(RUNBOOKS_DIR, runbook?.[1] ?? '');
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain(`# ${rule.alert}`);
    }
  });

  it('only use metrics the tracker emits', () => {
    for (const rule of alerts) {
      for (const name of metricNamesIn(rule.expr)) expect(knownMetrics).toContain(name);
    }
  });

  it('have a unit test where each alert fires and one where it stays quiet', () => {
    const tests = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alerts) {
      const own = cases.filter((test) => test.alertname === rule.alert);
      expect(own.some((test) => test.exp_alerts.length > 0)).toBe(true);
      expect(own.some((test) => test.exp_alerts.length === 0)).toBe(true);
    }
  });
});

describe('PrometheusRule manifest', () => {
  it('is generated from the rules file (run `npm run monitoring:generate` after editing the rules)', () => {
    expect(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')).toBe(prometheusRuleManifest(rulesText));
  });

  it('carries exactly the rules file groups', () => {
    const manifest = parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'));
    expect(manifest).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(manifest.spec.groups).toEqual(rules.groups);
  });
});

describe('Grafana dashboard', () => {
  const targets = dashboardTargets(dashboard);

  it('takes its Prometheus and PostgreSQL datasources as variables', () => {
    const variables = dashboard.templating.list;
    expect(variables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
        expect.objectContaining({
          name: 'postgres',
          type: 'datasource',
          query: 'grafana-postgresql-datasource',
        }),
      ]),
    );
    for (const panel of dashboard.panels) {
      expect([PROMETHEUS_DATASOURCE, POSTGRES_DATASOURCE]).toContain(panel.datasource?.uid);
    }
    for (const target of targets) {
      expect(target.datasourceUid).toBe(
        target.kind === 'promql' ? PROMETHEUS_DATASOURCE : POSTGRES_DATASOURCE,
      );
    }
  });

  it('has the panels of SPEC §5', () => {
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const expected of [
      /^Active sagas$/,
      /^Failed \(24h\)$/,
      /^Compensated \(24h\)$/,
      /^Status distribution/,
      /^Events over time$/,
      /^Compensation duration p95 \/ p99$/,
      /^Consumer lag$/,
      /^Recent failed sagas$/,
      /^API latency/,
      /^API requests and errors$/,
    ]) {
      expect(titles.some((title) => expected.test(title))).toBe(true);
    }
  });

  it('lays out panels with unique ids inside the 24-column grid', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it('only queries metrics the tracker emits', () => {
    const promql = targets.filter((target) => target.kind === 'promql');
    expect(promql.length).toBeGreaterThan(20);
    for (const target of promql) {
      expect(metricNamesIn(target.query).length).toBeGreaterThan(0);
      for (const name of metricNamesIn(target.query)) expect(knownMetrics).toContain(name);
    }
  });
});

describe('Alertmanager example', () => {
  const amtool = () => requireBinary('amtool');
  const routeFor = (labels: string[]) =>
    execFileSync(amtool(), ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, ...labels], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  const config = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as {
    receivers: Array<{ name: string; pagerduty_configs?: unknown[]; slack_configs?: unknown[] }>;
  };
  const receiver = (name: string) => config.receivers.find((entry) => entry.name === name);

  it('passes amtool check-config', () => {
    const result = run(amtool(), ['check-config', ALERTMANAGER_FILE]);
    expect({ status: result.status, output: result.stdout }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('pages and posts to Slack for critical alerts', () => {
    for (const rule of alerts.filter((entry) => entry.labels.severity === 'critical')) {
      const name = routeFor([`alertname=${rule.alert}`, 'service=saga-tracker', 'severity=critical']);
      expect(name).toBe('saga-tracker-critical');
      expect(receiver(name)?.pagerduty_configs?.length).toBe(1);
      expect(receiver(name)?.slack_configs?.length).toBe(1);
    }
  });

  it('only posts to Slack for warnings', () => {
    for (const rule of alerts.filter((entry) => entry.labels.severity === 'warning')) {
      const name = routeFor([`alertname=${rule.alert}`, 'service=saga-tracker', 'severity=warning']);
      expect(name).toBe('saga-tracker-warning');
      expect(receiver(name)?.pagerduty_configs).toBeUndefined();
      expect(receiver(name)?.slack_configs?.length).toBe(1);
    }
  });
});
