import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Loaded into the server child with `node --import` by the bench only. It
 * answers the bench over IPC:
 * - "statements": SQL statement executions so far. SQLite: run/get/all/
 *   iterate on any prepared statement, which includes the BEGIN/COMMIT/
 *   SAVEPOINT/RELEASE statements better-sqlite3's transactions run and every
 *   pragma. PostgreSQL: every node-postgres `Client.query` (pooled calls
 *   go through it too), which includes BEGIN/COMMIT/SAVEPOINT, LISTEN and
 *   advisory-lock calls. The wrappers cost one extra JS call per statement;
 * - { profile: 'start' } / { profile: 'stop', file }: a CPU profile of one
 *   scenario alone (`--cpu-prof`), written where the bench says;
 * - "loop": the server's event-loop delay since the last ask (p99 and max,
 *   ms; a 1 ms resolution), then starts over: how long the loop was held.
 * The server's own code is unchanged.
 */
let statements = 0;
const probe = new Database(':memory:');
const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
probe.close();
for (const method of ['run', 'get', 'all', 'iterate'] as const) {
  const original = proto[method] as (...a: unknown[]) => unknown;
  proto[method] = function counted(this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
}

// node-postgres: the pool's query and every transaction's statements go through Client.prototype.query.
const clientProto = pg.Client.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const originalQuery = clientProto.query as (...a: unknown[]) => unknown;
clientProto.query = function counted(this: unknown, ...args: unknown[]) {
  statements++;
  return originalQuery.apply(this, args);
};

let session: Session | undefined;
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => (session as Session).post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));

async function profile(m: { profile: 'start' | 'stop'; file?: string }): Promise<void> {
  if (m.profile === 'start') {
    session ??= new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return;
  }
  const { profile: result } = (await post('Profiler.stop')) as { profile: unknown };
  session?.disconnect();
  if (m.file) writeFileSync(m.file, JSON.stringify(result));
}

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();

process.on('message', (m: unknown) => {
  if (m === 'statements') return void process.send?.({ statements });
  if (m === 'loop') {
    const delay = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
    loop.reset();
    return void process.send?.({ loop: delay });
  }
  if (typeof m === 'object' && m !== null && 'profile' in m) {
    void profile(m as { profile: 'start' | 'stop'; file?: string }).then(
      () => process.send?.({ profiled: true }),
      (err: unknown) => process.send?.({ profiled: false, error: String(err) }),
    );
  }
});
// The IPC channel must not keep the server alive on its own.
process.channel?.unref();
