import { encodeGzipMembers } from './gzip-members';
import { objectProblems } from './verify';

async function committed() {
  const encoded = await encodeGzipMembers(['{"a":1}\n', '{"b":2}\n']);
  const object = {
    objectKey: 'k',
    byteCount: encoded.body.length,
    sha256Base64: encoded.sha256Base64,
    members: encoded.members.map((member, index) => ({
      sagaId: `s-${index}`,
      byteOffset: member.offset,
      byteLength: member.length,
      sha256: member.sha256,
    })),
  };
  return { object, body: encoded.body };
}

describe('object verification', () => {
  it('finds nothing wrong with the bytes that were committed', async () => {
    const { object, body } = await committed();
    expect(objectProblems(object, body)).toEqual([]);
  });

  it('names a missing, grown or shrunk object, and each saga whose member no longer matches', async () => {
    const { object, body } = await committed();
    expect(objectProblems(object, null)).toEqual(['the object does not exist']);
    expect(objectProblems(object, Buffer.concat([body, Buffer.from('x')]))).toEqual([
      `holds ${body.length + 1} bytes, ${body.length} were committed`,
    ]);
    expect(objectProblems(object, body.subarray(0, body.length - 1))).toEqual([
      `holds ${body.length - 1} bytes, ${body.length} were committed`,
      'saga s-1: its member does not match the index',
    ]);
  });
});
