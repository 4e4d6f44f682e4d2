import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { encodeGzipMembers, gunzipMember, memberProblem } from './gzip-members';

const lineArb = fc
  .string({ unit: 'grapheme', maxLength: 300 })
  .map((text) => `${JSON.stringify({ text })}\n`);

describe('gzip-member framing', () => {
  it('decompresses each member alone to its line, and the whole object to all lines in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 9 }),
        async (lines, level) => {
          const encoded = await encodeGzipMembers(lines, level);

          expect(gunzipSync(encoded.body).toString('utf8')).toBe(lines.join(''));
          let expectedOffset = 0;
          encoded.members.forEach((member, index) => {
            expect(member.offset).toBe(expectedOffset);
            const bytes = encoded.body.subarray(member.offset, member.offset + member.length);
            expect(memberProblem(bytes, member)).toBeNull();
            expect(gunzipMember(bytes)).toBe(lines[index]);
            expectedOffset += member.length;
          });
          expect(expectedOffset).toBe(encoded.body.length);
        },
      ),
    );
  });

  it('gives the same bytes for the same lines, so a rerun names its object the same', async () => {
    const lines = ['{"a":1}\n', '{"b":2}\n'];
    const first = await encodeGzipMembers(lines);
    expect((await encodeGzipMembers(lines)).sha256Hex).toBe(first.sha256Hex);
    expect((await encodeGzipMembers(['{"a":1}\n'])).sha256Hex).not.toBe(first.sha256Hex);
  });

  it('is read whole by zcat, as an ordinary .ndjson.gz', async () => {
    const lines = ['{"saga":1}\n', '{"saga":2}\n', '{"saga":3}\n'];
    const output = execFileSync('gzip', ['-dc'], { input: (await encodeGzipMembers(lines)).body });
    expect(output.toString('utf8')).toBe(lines.join(''));
  });

  it('names what is wrong with bytes that are not the member', async () => {
    const encoded = await encodeGzipMembers(['{"a":1}\n']);
    const [member] = encoded.members;
    if (!member) throw new Error('one member');
    const flipped = Buffer.from(encoded.body);
    flipped[12] = (flipped[12] ?? 0) ^ 1;

    expect(memberProblem(flipped, member)).toMatch(/SHA-256/);
    expect(memberProblem(encoded.body.subarray(1), member)).toMatch(/expected \d+ bytes, read \d+/);
  });

  it('refuses a line without exactly one newline at its end', async () => {
    await expect(encodeGzipMembers(['{"a":1}'])).rejects.toThrow(/one newline/);
    await expect(encodeGzipMembers(['{"a":\n1}\n'])).rejects.toThrow(/one newline/);
  });
});
