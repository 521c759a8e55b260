// Optional bearer API key. Both sides are hashed first so the comparison takes the same
// time whatever the length or content of the presented key (timingSafeEqual needs equal
// lengths, and comparing raw keys of different length would leak the key's length).
import { createHash, timingSafeEqual } from 'node:crypto';

export function makeKeyCheck(apiKey: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(apiKey, 'utf8').digest();
  return (authorization) => {
    if (typeof authorization !== 'string') return false;
    const m = /^Bearer[ \t]+(.+)$/i.exec(authorization.trim());
    const presented = createHash('sha256')
      .update(m ? m[1]!.trim() : '', 'utf8')
      .digest();
    // evaluate the comparison even for a malformed header, so timing does not reveal which check failed
    const same = timingSafeEqual(presented, expected);
    return m !== null && same;
  };
}
