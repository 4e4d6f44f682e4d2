import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export const MONITORING_DIR = __dirname;
export const RULES_FILE = join(MONITORING_DIR, 'prometheus', 'saga-tracker-rules.yml');
export const RULES_TEST_FILE = join(MONITORING_DIR, 'prometheus', 'saga-tracker-rules.test.yml');
export const PROMETHEUS_RULE_FILE = join(MONITORING_DIR, 'kubernetes', 'saga-tracker-prometheusrule.yaml');
export const DASHBOARD_FILE = join(MONITORING_DIR, 'grafana', 'saga-tracker-dashboard.json');
export const ALERTMANAGER_FILE = join(MONITORING_DIR, 'alertmanager', 'alertmanager.example.yml');
export const RUNBOOKS_DIR = join(MONITORING_DIR, 'runbooks');

const HEADER = [
  '# Generated from monitoring/prometheus/saga-tracker-rules.yml by `npm run monitoring:generate`.',
  '# Do not edit: change the rules file and regenerate (npm test fails when the two differ).',
  '# For the Prometheus Operator (kube-prometheus); match its ruleSelector labels to yours.',
  '',
].join('\n');

/** The rules file as a Prometheus Operator `PrometheusRule`: the same groups, verbatim. */
export function prometheusRuleManifest(rulesYaml: string): string {
  const rules = parse(rulesYaml) as { groups: unknown[] };
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'saga-tracker',
      labels: {
        'app.kubernetes.io/name': 'saga-tracker',
        'app.kubernetes.io/component': 'alerting',
        role: 'alert-rules',
      },
    },
    spec: { groups: rules.groups },
  };
  return HEADER + stringify(manifest, { lineWidth: 0 });
}

if (require.main === module) {
  writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleManifest(readFileSync(RULES_FILE, 'utf8')));
  console.log(`wrote ${PROMETHEUS_RULE_FILE}`);
}
