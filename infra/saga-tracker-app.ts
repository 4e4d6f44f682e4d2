import { Annotations, type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, PLACEHOLDER_MSK_CLUSTER_ARN } from './config';
import { SagaTrackerStack } from './saga-tracker-stack';

/**
 * Builds the app from its context (cdk.json + `-c` flags): parses the
 * configuration (a bad value throws a ConfigError naming it), creates the
 * stack and registers the cdk-nag AWS Solutions checks, which fail synth on
 * any finding not acknowledged with a reason.
 */
export function buildSagaTrackerApp(app: App): SagaTrackerStack {
  const config = loadConfig(app.node.getAllContext());
  const stack = new SagaTrackerStack(app, config);
  if (config.msk.clusterArn === PLACEHOLDER_MSK_CLUSTER_ARN) {
    Annotations.of(stack).addWarningV2(
      'saga-tracker:placeholder-cluster',
      'msk.clusterArn is the placeholder of cdk.json: synth works, a deployment needs -c msk.clusterArn=<your MSK cluster ARN>',
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
