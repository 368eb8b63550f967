import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { QaError } from '../qa/qa-source.js';
import { reportLines } from '../qa/qa-report.js';
import { qaVerify } from '../qa/qa-verify.js';
import { parseRoot } from '../../protocol/trust/root.js';
import { parseFile } from './cli-files.js';
import { CliError, println, type CliIo } from './io.js';
import { SLUG_RE } from '../../http/params.js';
import { haltNotice } from './halt-notice.js';
import { serverUrl } from './http-client.js';
import { resolveServer, resolveToken } from './profile.js';

export interface QaFlags {
  server?: string;
  token?: string;
  root: string;
  rollout: string;
  sample: number;
  seed?: string;
  json?: boolean;
}


/** `ota qa verify`: prints one PASS/FAIL/SKIP line per check; exit 1 on any FAIL. */
export async function qaVerifyCommand(flags: QaFlags, io: CliIo): Promise<number> {
  const token = resolveToken(flags.token, io);
  if (!token) throw new CliError('no operator token: pass --token, set OTA_TOKEN, or run ota login (role qa, read access)');
  const server = resolveServer(flags.server, io);
  serverUrl(server);
  if (!SLUG_RE.test(flags.rollout)) throw new CliError(`--rollout must be a rollout id (${SLUG_RE.source}), got "${flags.rollout}"`);
  let rootFile = flags.root;
  try {
    if (statSync(rootFile).isDirectory()) rootFile = join(rootFile, 'root.json');
  } catch {
    // parseFile names the missing file.
  }
  const pinnedRoot = parseFile(rootFile, parseRoot);
  let report;
  try {
    report = await qaVerify({
      server: server.replace(/\/+$/, ''),
      token,
      pinnedRoot,
      rolloutId: flags.rollout,
      sample: flags.sample,
      seed: flags.seed ?? randomBytes(4).toString('hex'),
      now: io.now(),
    });
  } catch (e) {
    if (e instanceof QaError) throw new CliError(e.message);
    throw e;
  }
  if (flags.json) println(io.out, JSON.stringify(report, null, 2));
  else {
    for (const line of reportLines(report)) println(io.out, line);
    const notice = haltNotice({ id: report.rolloutId, state: report.state, lastHalt: report.lastHalt });
    if (notice.length) println(io.out, ['', ...notice].join('\n'));
  }
  return report.ok ? 0 : 1;
}
