import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EndpointService, SagaTrackerConfig } from './config';

const INTERFACE_SERVICES: Record<Exclude<EndpointService, 's3'>, ec2.InterfaceVpcEndpointAwsService> = {
  secretsmanager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  sts: ec2.InterfaceVpcEndpointAwsService.STS,
  lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
  aps: ec2.InterfaceVpcEndpointAwsService.PROMETHEUS_WORKSPACES,
};

/**
 * Which endpoints a new VPC gets by default:
 * - s3 (gateway): archive/dead-letter buckets, and the event source mapping's
 *   S3 on-failure destination, which AWS requires to be reachable through an
 *   endpoint in the cluster's VPC;
 * - secretsmanager: the migration's admin secret, registry and remote-write
 *   credentials, secret rotation; monitoring: the state gauges read OffsetLag;
 *   logs: CloudWatch Logs API for anything beyond the runtime's own log shipping;
 * - sts + lambda: an on-demand (not provisioned) Kafka mapping assumes the
 *   execution role and invokes the function from the cluster's VPC;
 * - aps: remote write to the Managed Prometheus workspace.
 */
export function defaultEndpoints(config: SagaTrackerConfig): EndpointService[] {
  if (config.vpc.mode === 'import') return [];
  return [
    's3',
    'secretsmanager',
    'logs',
    'monitoring',
    ...(config.msk.pollers.mode === 'on-demand' ? (['sts', 'lambda'] as const) : []),
    ...(config.prometheus.mode === 'amp' ? (['aps'] as const) : []),
  ];
}

/**
 * The VPC: a new one with private subnets only (isolated unless NAT gateways
 * are asked for) and flow logs, or an existing one imported from ids in the
 * context (no lookups at synth). Functions, database and proxy sit in the
 * private subnets.
 */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly endpoints: readonly EndpointService[];

  constructor(scope: Construct, id: string, config: SagaTrackerConfig) {
    super(scope, id);
    const vpcConfig = config.vpc;
    if (vpcConfig.mode === 'new') {
      const withNat = vpcConfig.natGateways > 0;
      const vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr(vpcConfig.cidr),
        ...(vpcConfig.availabilityZones
          ? { availabilityZones: vpcConfig.availabilityZones.slice(0, vpcConfig.maxAzs) }
          : { maxAzs: vpcConfig.maxAzs }),
        natGateways: vpcConfig.natGateways,
        subnetConfiguration: [
          ...(withNat ? [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }] : []),
          {
            name: 'private',
            subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
            cidrMask: 22,
          },
        ],
        restrictDefaultSecurityGroup: true,
      });
      vpc.addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogGroup', {
            retention: config.logs.retentionDays as logs.RetentionDays,
          }),
        ),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
      this.vpc = vpc;
      this.subnets = {
        subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
      };
      if (!withNat && (config.schemaRegistry.url || config.prometheus.mode === 'external')) {
        Annotations.of(this).addWarningV2(
          'saga-tracker:no-egress',
          'The new VPC has no NAT gateway: a schema registry or remote-write URL outside AWS needs vpc.natGateways > 0 (or peering) to be reachable',
        );
      }
    } else {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: vpcConfig.vpcId,
        vpcCidrBlock: vpcConfig.vpcCidrBlock,
        availabilityZones: vpcConfig.availabilityZones,
        privateSubnetIds: vpcConfig.privateSubnetIds,
        ...(vpcConfig.privateSubnetRouteTableIds
          ? { privateSubnetRouteTableIds: vpcConfig.privateSubnetRouteTableIds }
          : {}),
      });
      this.subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    }

    this.endpoints = config.endpoints ?? defaultEndpoints(config);
    // One group for the interface endpoints: HTTPS from inside the VPC (the CIDR as configured,
    // so the rule is reviewable in the template rather than a reference).
    const vpcCidr = vpcConfig.mode === 'new' ? vpcConfig.cidr : vpcConfig.vpcCidrBlock;
    let endpointSecurityGroup: ec2.SecurityGroup | undefined;
    for (const service of this.endpoints) {
      if (service === 's3') {
        this.vpc.addGatewayEndpoint('S3Endpoint', {
          service: ec2.GatewayVpcEndpointAwsService.S3,
          subnets: [this.subnets],
        });
      } else {
        endpointSecurityGroup ??= new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
          vpc: this.vpc,
          description: 'Saga tracker VPC interface endpoints',
          allowAllOutbound: false,
        });
        endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(vpcCidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
        this.vpc.addInterfaceEndpoint(`${service}Endpoint`, {
          service: INTERFACE_SERVICES[service],
          subnets: this.subnets,
          privateDnsEnabled: true,
          securityGroups: [endpointSecurityGroup],
          open: false,
        });
      }
    }
    if (!this.endpoints.includes('s3')) {
      Annotations.of(this).addWarningV2(
        'saga-tracker:no-s3-endpoint',
        'No S3 gateway endpoint is created: the MSK cluster VPC must already have one for the S3 on-failure destination, and the functions need a path to S3',
      );
    }
  }
}
