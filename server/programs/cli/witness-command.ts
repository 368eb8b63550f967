import { createHttpTransport } from '../agent/http-transport.js';
import { walkRoots } from '../agent/trust-client.js';
import { onlineKeysOf, type KeptCheckpoint } from '../agent/verify-log.js';
import { toHex } from '../../protocol/crypto/encoding.js';
import { ed25519Signer } from '../../protocol/crypto/signer.js';
import { LOG_ORIGIN_RE } from '../../config.js';
import { verifyCheckpoint } from '../../protocol/transparency/checkpoint.js';
import { cosign } from '../../protocol/transparency/cosignature.js';
import { loadPrivateKey } from './cli-files.js';
import { endpoint, parseBody, printRefusal, serverUrl } from './http-client.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { keep, keptReason, readKept } from './kept-checkpoint.js';
import { get } from './log-fetch.js';
import { resolveRoot } from './trust-chain.js';

export interface WitnessFlags {
  server: string;
  root: string;
  key: string;
  name: string;
  state: string;
  submit?: boolean;
  json?: boolean;
}

/**
 * `ota witness`: one witnessing step (C2SP tlog-witness, pulled rather than
 * pushed). It follows the server's root chain from --root, verifies the
 * checkpoint by the online keys, proves it consistent with the one it kept
 * (a shrunk, forked or rewritten log is refused, exit 1, nothing signed),
 * then cosigns it (C2SP tlog-cosignature/v1) and keeps it. The cosigned
 * note goes to stdout, for the witness operator to publish.
 */
export async function witnessCheckpoint(flags: WitnessFlags, io: CliIo): Promise<number> {
  serverUrl(flags.server);
  if (!LOG_ORIGIN_RE.test(flags.name)) throw new CliError(`--name must be a note key name (printable ASCII, no spaces or '+'), got "${flags.name}"`);
  const key = loadPrivateKey(flags.key, io, 'witnessing').private;
  const chain = resolveRoot(flags.root, new Date(0));
  const kept = readKept(flags.state);
  const pinned = chain.roots[chain.roots.length - 1];
  if (!pinned) throw new CliError('no root to start from');
  let walked;
  try {
    walked = await walkRoots(createHttpTransport({ baseUrl: flags.server }), pinned, io.now());
  } catch (e) {
    throw new CliError(`cannot follow the server's root chain: ${describeError(e)}`);
  }
  if (walked.problems.length) throw new CliError(`refusing the server's root chain: ${walked.problems.map((p) => p.message).join('; ')}`);

  const res = await get(flags.server, '/v1/log/checkpoint');
  if (res.status !== 200) throw new CliError(`GET /v1/log/checkpoint answered ${res.status}`);
  const signed = verifyCheckpoint(res.text, onlineKeysOf(walked.root.signed));
  if (!signed.ok) return refuse(io, flags, `checkpoint: ${signed.message}`);
  const cp = signed.checkpoint;
  const next: KeptCheckpoint = { origin: cp.origin, size: cp.size, rootHash: toHex(cp.rootHash), note: res.text };
  const why = kept ? await keptReason(flags.server, kept, next) : undefined;
  if (why) return refuse(io, flags, why);

  const time = Math.floor(io.now().getTime() / 1000);
  const line = cosign(cp.body, flags.name, ed25519Signer(key), key.keyval.public, time);
  keep(flags.state, next);
  if (flags.submit && !(await submit(flags.server, cp.size, line.trimEnd(), io))) {
    println(io.err, `ota witness: checkpoint ${cp.size} is cosigned and kept in ${flags.state}, but the server did not take the cosignature`);
    return 1;
  }
  const note = `${res.text}${line}`;
  if (flags.json) println(io.out, JSON.stringify({ ok: true, origin: cp.origin, size: cp.size, rootHash: next.rootHash, time, cosignature: line.trimEnd(), note }, null, 2));
  else io.out(note);
  return 0;
}

/**
 * POST /v1/log/cosignatures: the server serves the cosignature with its
 * checkpoint of that size. false once a refusal is printed as every command
 * prints one (protocol §7 `code: message`, not the raw body).
 */
async function submit(server: string, size: number, cosignature: string, io: CliIo): Promise<boolean> {
  const url = endpoint(server, '/v1/log/cosignatures');
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ size, cosignature }) });
  } catch (e) {
    throw new CliError(`cannot reach ${url}: ${describeError(e)}`);
  }
  if (res.ok) return true;
  printRefusal(res, parseBody(await res.text()), url, io);
  return false;
}

function refuse(io: CliIo, flags: WitnessFlags, reason: string): number {
  if (flags.json) println(io.out, JSON.stringify({ ok: false, reason }, null, 2));
  else println(io.err, `ota witness: REFUSED, nothing cosigned: ${reason}`);
  return 1;
}
