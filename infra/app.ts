#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/errors';
import { buildSagaTrackerApp } from './saga-tracker-app';

const app = new App();
try {
  buildSagaTrackerApp(app);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The message names every bad key; a stack trace would only hide it.
  console.error(error.message);
  process.exit(1);
}
app.synth();
