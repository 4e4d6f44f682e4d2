import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { RemoteWriteConfig } from '../../config/telemetry';
import type { RemoteWriteAuth } from './auth';
import {
  basicAuth,
  bearerAuth,
  cachedSecret,
  noAuth,
  secretStringReader,
  sigV4Auth,
  tokenFromSecretString,
  userPasswordFromSecretString,
} from './auth';
import { RemoteWriteClient } from './client';

export type { RemoteWriteAuth } from './auth';
export { RemoteWriteClient, type SendResult } from './client';

/** The authenticator a configuration asks for: SigV4 with the Lambda role, or a secret's token/password. */
export function remoteWriteAuthFor(
  config: Extract<RemoteWriteConfig, { enabled: true }>,
  readSecret: (arn: string) => () => Promise<string> = secretStringReader,
): RemoteWriteAuth {
  const { auth } = config;
  switch (auth.mode) {
    case 'none':
      return noAuth;
    case 'sigv4':
      return sigV4Auth({ region: auth.region, service: 'aps', credentials: defaultProvider() });
    case 'bearer': {
      const read = readSecret(auth.secretArn);
      return bearerAuth(cachedSecret(async () => tokenFromSecretString(await read())));
    }
    case 'basic': {
      const read = readSecret(auth.secretArn);
      return basicAuth(cachedSecret(async () => userPasswordFromSecretString(await read())));
    }
  }
}

export function remoteWriteClientFor(
  config: Extract<RemoteWriteConfig, { enabled: true }>,
): RemoteWriteClient {
  return new RemoteWriteClient({
    url: config.url,
    auth: remoteWriteAuthFor(config),
    maxRetries: config.maxRetries,
  });
}
