import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_BUDGET_BYTES, cdkSynth, functionBundles } from '../infra/bundles';

/** Builds every function bundle through `npx cdk synth` and prints their sizes against the budget. */
async function main(): Promise<void> {
  const outdir = await mkdtemp(join(tmpdir(), 'saga-tracker-bundles-'));
  try {
    const started = Date.now();
    const synth = await cdkSynth(outdir);
    if (synth.code !== 0) throw new Error(`cdk synth failed:\n${synth.output}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
    console.log(`npx cdk synth with bundling: ${seconds} s; budget per index.js ${kib(BUNDLE_BUDGET_BYTES)}`);
    let over = false;
    for (const bundle of functionBundles(outdir, 'SagaTracker-dev')) {
      const verdict = bundle.indexBytes > BUNDLE_BUDGET_BYTES ? 'OVER BUDGET' : 'ok';
      over ||= verdict !== 'ok';
      console.log(
        `${bundle.name.padEnd(13)} index.js ${kib(bundle.indexBytes).padStart(9)}  map ${kib(bundle.sourceMapBytes).padStart(9)}  ${verdict}`,
      );
    }
    if (over) process.exitCode = 1;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

void main();
