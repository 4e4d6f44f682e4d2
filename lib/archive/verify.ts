import { sha256 } from './gzip-members';
import type { ArchiveStorage, ObjectToVerify, VerifyStore } from './ports';

export interface VerifyReport {
  readonly checked: number;
  readonly intact: number;
  /** Objects that are missing or differ from what was committed, and how. */
  readonly damaged: ReadonlyArray<{ readonly objectKey: string; readonly problems: readonly string[] }>;
}

/** What is wrong with an object's bytes, judged against the manifest and every index entry in it. */
export function objectProblems(object: ObjectToVerify, body: Buffer | null): string[] {
  if (body === null) return ['the object does not exist'];
  const problems: string[] = [];
  if (body.length !== object.byteCount)
    problems.push(`holds ${body.length} bytes, ${object.byteCount} were committed`);
  else if (sha256(body).toString('base64') !== object.sha256Base64)
    problems.push('SHA-256 of the object does not match');
  for (const member of object.members) {
    const bytes = body.subarray(member.byteOffset, member.byteOffset + member.byteLength);
    if (bytes.length !== member.byteLength || !sha256(bytes).equals(member.sha256))
      problems.push(`saga ${member.sagaId}: its member does not match the index`);
  }
  return problems;
}

/**
 * A scrub of cold storage: reads committed objects back whole (never-verified
 * first, then the longest unverified) and checks them against the SHA-256
 * recorded at upload and each saga's member checksum. Damaged objects are
 * reported, never repaired silently; intact ones get a fresh verified_at.
 */
export async function verifyArchivedObjects(
  deps: { readonly store: VerifyStore; readonly storage: ArchiveStorage },
  options: { readonly limit: number },
): Promise<VerifyReport> {
  const objects = await deps.store.objectsToVerify(options.limit);
  const intact: string[] = [];
  const damaged: Array<{ objectKey: string; problems: string[] }> = [];
  for (const object of objects) {
    // One byte more than committed: an object that grew is caught too.
    const body = await deps.storage.getRange(object.objectKey, 0, object.byteCount + 1);
    const problems = objectProblems(object, body);
    if (problems.length === 0) intact.push(object.objectKey);
    else damaged.push({ objectKey: object.objectKey, problems });
  }
  if (intact.length > 0) await deps.store.markVerified(intact);
  return { checked: objects.length, intact: intact.length, damaged };
}
