import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Sql } from '../../server/db/sql.js';
import { createMenderTokenStore } from '../../server/mender/mender-stores.js';
import { tempDir, testEngine } from '../helpers/fixtures.js';

const hash = (token: string): Buffer => createHash('sha256').update(token).digest();

/** protocol §12: Mender device tokens are looked up from memory once read, within a bound, and a revocation leaves none behind. */
describe('Mender token cache', () => {
  it('holds at most maxCached tokens, reads an evicted one again, and a revocation drops the device’s cached tokens', async () => {
    const { sql, db } = await testEngine(tempDir());
    let reads = 0;
    const counted: Sql = { ...sql, one: (text, params) => { reads++; return sql.one(text, params); } };
    const tokens = createMenderTokenStore(counted, { graceMs: 60_000, maxCached: 2 });
    for (const d of ['a', 'b', 'c']) await tokens.issue(d, hash(`tok-${d}`), 1_000);

    for (const d of ['a', 'b', 'c']) expect((await tokens.lookup(hash(`tok-${d}`)))?.deviceId).toBe(d);
    expect(reads).toBe(3);
    // b and c are cached (answered in the caller's turn); a was evicted and is read again, which evicts b.
    expect(tokens.lookup(hash('tok-c'))).toMatchObject({ deviceId: 'c' });
    expect((await tokens.lookup(hash('tok-a')))?.deviceId).toBe('a');
    expect(reads).toBe(4);
    expect((await tokens.lookup(hash('tok-b')))?.deviceId).toBe('b');
    expect(reads).toBe(5);

    // b's lookup evicted c; a and b are cached. Revoking a drops its cached token: the next lookup reads, and finds none.
    await tokens.revoke('a');
    expect(await tokens.lookup(hash('tok-a'))).toBeUndefined();
    expect(reads).toBe(6);
    expect(tokens.lookup(hash('tok-b'))).toMatchObject({ deviceId: 'b' });
    if (db) await db.drop();
    else await sql.close();
  });
});
