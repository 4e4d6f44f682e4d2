import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3 } from './s3-server';

describe('local S3 server', () => {
  it('stores an object and serves a byte range of it through the real SDK', async () => {
    const s3 = await startLocalS3(['saga-archive-test']);
    try {
      await s3.client.send(
        new PutObjectCommand({ Bucket: 'saga-archive-test', Key: 'a/b.txt', Body: 'hello world' }),
      );
      const answer = await s3.client.send(
        new GetObjectCommand({ Bucket: 'saga-archive-test', Key: 'a/b.txt', Range: 'bytes=6-10' }),
      );
      expect(await answer.Body?.transformToString()).toBe('world');
    } finally {
      await s3.close();
    }
  });
});
