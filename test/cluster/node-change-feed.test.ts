import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change } from '../../server/cluster/change-feed.js';
import { createNodeChangeFeed } from '../../server/cluster/node-change-feed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let sqlite: TestDatabase;
let postgres: TestDatabase;
beforeAll(async () => {
  sqlite = await createTestDatabase('sqlite');
  postgres = await createTestDatabase('postgres');
});
afterAll(async () => {
  await sqlite?.drop();
  await postgres?.drop();
});

describe('the change feed of a node', () => {
  it('is in-process on SQLite: nothing is written to the database', async () => {
    const feed = createNodeChangeFeed({ sql: sqlite.sql, databaseUrl: undefined });
    const seen: Change[] = [];
    feed.subscribe((c) => void seen.push(c));
    await feed.start();
    await feed.publish('rollout', 'r1');
    await feed.stop();
    expect(seen.map((c) => c.key)).toEqual(['r1']);
    expect(await sqlite.sql.value("SELECT COUNT(*) FROM sqlite_master WHERE name = 'changes'")).toBe(0);
  });

  it('records changes in the changes table on PostgreSQL, and needs the URL for its listener', async () => {
    expect(() => createNodeChangeFeed({ sql: postgres.sql, databaseUrl: undefined })).toThrow(/database URL/);
    const feed = createNodeChangeFeed({ sql: postgres.sql, databaseUrl: postgres.url });
    const seen: Change[] = [];
    feed.subscribe((c) => void seen.push(c));
    await feed.start();
    await feed.publish('cohort', 'beta');
    await feed.stop();
    expect(seen.map((c) => c.key)).toEqual(['beta']);
    expect(await postgres.sql.value("SELECT COUNT(*) FROM changes WHERE topic = 'cohort' AND key = 'beta'")).toBe(1);
  });
});
