import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

const usernamePassword = z.object({ username: z.string(), password: z.string() });

/** Reads a `{"username", "password"}` secret and returns it as `user:password`. */
export function basicCredentialsFromSecret(
  secretArn: string,
  client = new SecretsManagerClient({}),
): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= client.send(new GetSecretValueCommand({ SecretId: secretArn })).then((answer) => {
      const secret = usernamePassword.parse(JSON.parse(answer.SecretString ?? '{}'));
      return `${secret.username}:${secret.password}`;
    });
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
}
