import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectKeys } from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { S3DeadLetterBucket } from './s3-dead-letter-bucket';

const BUCKET = 'saga-dlq-adapter';
let s3: LocalS3;
beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
});
afterAll(() => s3.close());

async function put(key: string, body: string) {
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

describe('S3DeadLetterBucket', () => {
  it('lists waiting objects under the prefix, leaving out redriven/, and moves one there once however often asked', async () => {
    await put('aws/lambda/m/t-0/2026/11/25/a', '{"a":1}');
    await put('aws/lambda/m/t-1/2026/11/25/b', '{"b":2}');
    await put('redriven/aws/lambda/m/t-0/2026/11/24/old', '{}');
    await put('elsewhere/c', '{}');
    const bucket = new S3DeadLetterBucket(s3.client, BUCKET);

    const listed = await bucket.list({ prefix: 'aws/lambda/' });
    expect(listed.map((object) => object.key).sort()).toEqual([
      'aws/lambda/m/t-0/2026/11/25/a',
      'aws/lambda/m/t-1/2026/11/25/b',
    ]);
    expect((await bucket.list({})).map((object) => object.key)).not.toContain(
      'redriven/aws/lambda/m/t-0/2026/11/24/old',
    );

    const read = await bucket.get('aws/lambda/m/t-0/2026/11/25/a');
    expect(read?.body).toBe('{"a":1}');
    const etag = read?.etag ?? '';
    // Two movers racing (or a retried run) end in the same place.
    expect(
      await Promise.all([
        bucket.moveToRedriven('aws/lambda/m/t-0/2026/11/25/a', etag),
        bucket.moveToRedriven('aws/lambda/m/t-0/2026/11/25/a', etag),
      ]),
    ).toEqual(['moved', 'moved']);
    expect(await bucket.moveToRedriven('aws/lambda/m/t-0/2026/11/25/a', etag)).toBe('moved');
    expect(await objectKeys(s3.client, BUCKET)).toEqual([
      'aws/lambda/m/t-1/2026/11/25/b',
      'elsewhere/c',
      'redriven/aws/lambda/m/t-0/2026/11/24/old',
      'redriven/aws/lambda/m/t-0/2026/11/25/a',
    ]);
    expect(await bucket.get('aws/lambda/m/t-0/2026/11/25/a')).toBeNull();
    expect(await bucket.list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });
});
