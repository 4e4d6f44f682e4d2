import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { SagaTrackerConfig } from './config';
import type { ServiceFunction } from './service-function';

/** One JSON object per request: what an operator needs to trace a call to its caller and outcome. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  callerAccount: '$context.identity.accountId',
  callerArn: '$context.identity.userArn',
  authorizerError: '$context.authorizer.error',
};

export interface SagaTrackerApiProps {
  readonly config: SagaTrackerConfig;
  readonly handler: ServiceFunction;
}

/**
 * The HTTP API (payload format 2.0) in front of the api function: every route
 * requires SigV4 (IAM authorization), the stage is throttled and writes JSON
 * access logs. Two managed policies give callers read access (GET /api/v1/*)
 * or operator access (everything, admin routes included).
 */
export class SagaTrackerApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly readPolicy: iam.ManagedPolicy;
  readonly operatorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SagaTrackerApiProps) {
    super(scope, id);
    const { config } = props;
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `saga-tracker-${config.environment}`,
      description: 'Saga tracker query and admin API (SigV4)',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('Api', props.handler.fn, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logs.retentionDays as logs.RetentionDays,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: config.api.throttlingRateLimit,
        burstLimit: config.api.throttlingBurstLimit,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const routeArn = (method: string, path: string) =>
      `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${this.httpApi.apiId}/$default/${method}/${path}`;
    this.readPolicy = new iam.ManagedPolicy(this, 'ReadAccess', {
      description: 'Saga tracker API: read sagas, steps, search and statistics (GET /api/v1/*)',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [routeArn('GET', 'api/v1/*')],
        }),
      ],
    });
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorAccess', {
      description: 'Saga tracker API: every route, the admin routes under /internal/v1 included',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [routeArn('*', 'api/v1/*'), routeArn('*', 'internal/v1/*')],
        }),
      ],
    });
    this.acknowledgeRoutePatterns(this.readPolicy, ['GET/api/v1/*']);
    this.acknowledgeRoutePatterns(this.operatorPolicy, ['*/api/v1/*', '*/internal/v1/*']);
  }

  private acknowledgeRoutePatterns(policy: iam.ManagedPolicy, patterns: readonly string[]): void {
    const apiId = Stack.of(this).getLogicalId(this.httpApi.node.defaultChild as apigwv2.CfnApi);
    for (const pattern of patterns) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/$default/${pattern}]`,
        reason: `execute-api:Invoke on the route pattern ${pattern} of this API only: callers get a path prefix, not the whole account`,
      });
    }
  }

  get url(): string {
    return this.stage.url;
  }
}
