import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type FunctionName, PROJECT_ROOT } from './service-function';

/**
 * Budget for each function's index.js (minified, what Lambda loads at cold
 * start). Measured with the real handlers of main merged in (metrics and
 * redrive work): dlq-redrive 1514 KiB, consume 1315 KiB, migrate 1281 KiB,
 * state-gauges 1257 KiB; an api stand-in importing the S3 client and the
 * middy router adds about 200 KiB to consume. 2.5 MiB leaves a margin for
 * the api and archive handlers and fails on an accidental second SDK or a
 * dependency tree pulled in whole.
 */
export const BUNDLE_BUDGET_BYTES = 2.5 * 1024 * 1024;

/** Construct ids of the functions in the stack (their template logical ids start with `<id>Function`). */
export const FUNCTION_CONSTRUCT_IDS: Readonly<Record<FunctionName, string>> = {
  consume: 'Consume',
  api: 'Api',
  archive: 'Archive',
  'dlq-redrive': 'DlqRedrive',
  'state-gauges': 'StateGauges',
  migrate: 'Migrate',
};

export interface FunctionBundle {
  readonly name: FunctionName;
  readonly dir: string;
  readonly indexBytes: number;
  readonly sourceMapBytes: number;
}

/**
 * Runs `npx cdk synth` exactly as a developer would (cdk.json, default
 * environment, bundling on, no AWS credentials needed) into `outdir`.
 */
export function cdkSynth(
  outdir: string,
  args: readonly string[] = [],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', 'synth', '--no-notices', '--quiet', '--output', outdir, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The bundle directory of every function in a synthesized cloud assembly. */
export function functionBundles(outdir: string, stackName: string): FunctionBundle[] {
  const template = JSON.parse(readFileSync(join(outdir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  return (Object.entries(FUNCTION_CONSTRUCT_IDS) as Array<[FunctionName, string]>).map(([name, id]) => {
    const resource = Object.entries(template.Resources).find(
      ([logicalId, candidate]) =>
        candidate.Type === 'AWS::Lambda::Function' &&
        new RegExp(`^${id}Function[0-9A-F]{8}$`).test(logicalId),
    );
    const assetPath = resource?.[1].Metadata?.['aws:asset:path'];
    if (!assetPath) throw new Error(`no bundled asset for the ${name} function in ${stackName}`);
    const dir = join(outdir, assetPath);
    return {
      name,
      dir,
      indexBytes: statSync(join(dir, 'index.js')).size,
      sourceMapBytes: statSync(join(dir, 'index.js.map')).size,
    };
  });
}
