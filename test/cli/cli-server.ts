import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { makeApp, type AppFixture } from '../helpers/fixtures.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** makeApp() listening on 127.0.0.1:0 for the CLI's real fetch; closed after the test. */
export async function listen(given?: AppFixture) {
  const fixture = given ?? (await makeApp());
  const server = createServer(fixture.app).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { ...fixture, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export type Listening = Awaited<ReturnType<typeof listen>>;
