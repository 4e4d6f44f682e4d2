import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildSagaTrackerApp } from './saga-tracker-app';
import type { SagaTrackerStack } from './saga-tracker-stack';
import { PROJECT_ROOT } from './service-function';

/** The context `npx cdk synth` starts from: everything in cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export const REAL_CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/c4ang/8c2e4a3b-1f0d-4c1e-9a7b-2d3e4f5a6b7c-4';

export interface Synthesized {
  readonly app: App;
  readonly stack: SagaTrackerStack;
  readonly template: Template;
  /** Every warning the constructs raised (read before acknowledgement hides them). */
  readonly warnings: readonly string[];
}

/**
 * Builds the app as the CLI would, with cdk.json's context and `overrides`
 * playing the part of `-c` flags (strings, as the CLI passes them, or
 * objects). Bundling is skipped: these tests look at the template; the bundle
 * test builds the code. Synthesizing runs the cdk-nag plugin, which fails on
 * any unacknowledged finding. Warnings the test expects (ids) are acknowledged
 * so they do not clutter the output; the test can still find them.
 */
export function synthesize(
  overrides: Record<string, unknown> = {},
  expectedWarnings: readonly string[] = [],
): Synthesized {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...overrides },
  });
  const stack = buildSagaTrackerApp(app);
  const warnings = stack.node
    .findAll()
    .flatMap((construct) => construct.node.metadata)
    .filter((entry) => entry.type === 'aws:cdk:warning')
    .map((entry) => String(entry.data));
  // The CLI run in bundles.test.ts checks that this warning reaches the developer.
  for (const id of ['saga-tracker:placeholder-cluster', ...expectedWarnings]) {
    Validations.of(stack).acknowledge({ id: `Annotation::${id}`, reason: 'Expected by the test' });
  }
  return { app, stack, template: Template.fromStack(stack), warnings };
}

/** Context of a deployable prod environment: the values cdk.json leaves to `-c`. */
export const PROD_OVERRIDES = {
  environment: 'prod',
  'msk.clusterArn': REAL_CLUSTER_ARN,
  'schemaRegistry.url': 'https://schema-registry.platform.internal:8081',
  'schemaRegistry.secretArn': 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:schema-registry-AbCdEf',
} as const;
