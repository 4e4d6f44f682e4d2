/** The parts of a Grafana dashboard JSON the checks read. */
export interface GrafanaDashboard {
  readonly templating: { readonly list: ReadonlyArray<Record<string, unknown> & { name: string }> };
  readonly panels: ReadonlyArray<{
    readonly id: number;
    readonly title: string;
    readonly type: string;
    readonly datasource?: { readonly uid?: string };
    readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
    readonly targets?: ReadonlyArray<{
      readonly expr?: string;
      readonly rawSql?: string;
      readonly datasource?: { readonly uid?: string };
    }>;
  }>;
}

export interface DashboardTarget {
  readonly panel: string;
  readonly kind: 'promql' | 'sql';
  readonly query: string;
  readonly datasourceUid: string | undefined;
}

export function dashboardTargets(dashboard: GrafanaDashboard): DashboardTarget[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      kind: target.rawSql === undefined ? ('promql' as const) : ('sql' as const),
      query: target.rawSql ?? target.expr ?? '',
      datasourceUid: target.datasource?.uid,
    })),
  );
}

/**
 * A dashboard query as Grafana would send it: template variables replaced by
 * what Grafana substitutes (all environments, a 5-minute rate interval).
 */
export function interpolatePromql(expr: string): string {
  return expr
    .replaceAll(/\$\{?__rate_interval\}?/g, '5m')
    .replaceAll(/\$\{?__interval\}?/g, '1m')
    .replaceAll(/\$\{?__range\}?/g, '1h')
    .replaceAll(/\$\{?env\}?/g, '.*');
}

/** The table's SQL as Grafana's PostgreSQL datasource expands `$__timeFilter(column)`. */
export function interpolateSql(sql: string, from: Date, to: Date): string {
  return sql.replaceAll(
    /\$__timeFilter\(([a-z_]+)\)/g,
    (_match, column: string) => `${column} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`,
  );
}
