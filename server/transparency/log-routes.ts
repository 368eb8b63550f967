import { Router, type Request, type Response } from 'express';
import cosignatureSchema from '../../manifests/schema/api/log-cosignature.schema.json' with { type: 'json' };
import { limitAddress } from '../http/rate-limit.js';
import { compileValidator } from '../schema/validator.js';
import type { RequestHandler } from 'express';
import type { ChangeFeed } from '../cluster/change-feed.js';
import type { TransparencyLog } from './transparency-log.js';
import { AppError } from '../errors.js';

/** protocol §8: at most this many entries per GET /v1/log/entries. */
export const MAX_ENTRIES_PER_CALL = 1000;
/** Entries read per statement while an answer is streamed: a bounded amount of memory per request. */
const ENTRIES_PER_READ = 50;

const parseCosignature = compileValidator<{ size: number; cosignature: string }>(cosignatureSchema, 'cosignature');

const COUNT_RE = /^(?:0|[1-9][0-9]{0,15})$/;
/** Cosignature submissions per client address per minute: a witness sends one per checkpoint. */
const COSIGNATURES_PER_MINUTE = 60;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A non-negative decimal query value given exactly once; 400 otherwise. */
function count(req: Request, name: string): number {
  const raw = req.query[name];
  if (typeof raw !== 'string' || !COUNT_RE.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new AppError('bad_request', `${name} must be given once, as a non-negative decimal integer`, { details: [{ path: name, message: 'not a non-negative integer' }] });
  }
  return Number(raw);
}

const outside = (message: string): AppError => new AppError('bad_request', message);

const sendJson = (res: Response, json: string, cacheControl: string): void => {
  res.setHeader('Cache-Control', cacheControl);
  res.type('application/json').send(json);
};

/**
 * protocol §8 public routes, no auth. Everything but the checkpoint names
 * fixed tree sizes, so its answer never changes and may be cached anywhere.
 */
export function logRoutes(deps: { log: TransparencyLog; changes: Pick<ChangeFeed, 'publish'>; jsonBody: RequestHandler; config: { logEntriesPerMinute: number; logEntriesMaxBytes: number } }): Router {
  const router = Router();
  const { log } = deps;

  router.get('/v1/log/checkpoint', async (req, res) => {
    const cp = log.checkpoint();
    res.setHeader('ETag', cp.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.headers['if-none-match'] === cp.etag) return void res.status(304).end();
    res.type('text/plain; charset=utf-8').send(cp.note);
  });

  /**
   * Public and unauthenticated, so it must stay cheap whatever the log holds
   * (issue 20: 300 large releases made a 60-byte request cost ~6 MB built
   * into one string): limited per client address, answered with at most
   * `logEntriesMaxBytes` of entries (a prefix of [start, end), never less
   * than one entry; protocol-notes "Log entries"), read a few entries at a
   * time and streamed with backpressure. The prefix is a fixed function of
   * (start, end), so the answer stays immutable.
   */
  router.get('/v1/log/entries', limitAddress(deps.config.logEntriesPerMinute), async (req, res) => {
    const start = count(req, 'start');
    const end = count(req, 'end');
    const size = log.size();
    if (!(start < end && end <= size)) throw outside(`entries [${start}, ${end}) are not inside the log of size ${size}`);
    if (end - start > MAX_ENTRIES_PER_CALL) throw outside(`at most ${MAX_ENTRIES_PER_CALL} entries per call`);
    const maxBytes = deps.config.logEntriesMaxBytes;
    let page = await log.entries(start, Math.min(end, start + ENTRIES_PER_READ));
    res.setHeader('Cache-Control', IMMUTABLE);
    res.type('application/json');
    let sent = 0;
    let next = start;
    const write = async (text: string): Promise<boolean> => {
      if (res.write(text)) return true;
      await new Promise((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
      return !res.destroyed;
    };
    if (!(await write('{"entries":['))) return;
    for (;;) {
      for (const entry of page) {
        const bytes = Buffer.byteLength(entry);
        if (next > start && sent + bytes > maxBytes) return void res.end(']}');
        if (!(await write(next > start ? `,${entry}` : entry))) return;
        sent += bytes;
        next++;
      }
      if (next >= end || page.length === 0) return void res.end(']}');
      page = await log.entries(next, Math.min(end, next + ENTRIES_PER_READ));
    }
  });

  router.get('/v1/log/proof/inclusion', async (req, res) => {
    const index = count(req, 'index');
    const treeSize = count(req, 'size');
    const size = log.size();
    if (!(index < treeSize && treeSize <= size)) throw outside(`index ${index} in a tree of size ${treeSize} is not inside the log of size ${size}`);
    sendJson(res, JSON.stringify({ index, treeSize, hashes: log.inclusion(index, treeSize) }), IMMUTABLE);
  });

  router.get('/v1/log/proof/consistency', async (req, res) => {
    const from = count(req, 'from');
    const to = count(req, 'to');
    const size = log.size();
    if (!(from >= 1 && from <= to && to <= size)) throw outside(`a consistency proof needs 1 <= from <= to <= ${size}`);
    sendJson(res, JSON.stringify({ from, to, hashes: log.consistency(from, to) }), IMMUTABLE);
  });

  // Public like the log itself: a cosignature authenticates itself (a configured witness's key over this log's own checkpoint).
  router.post('/v1/log/cosignatures', limitAddress(COSIGNATURES_PER_MINUTE), deps.jsonBody, async (req, res) => {
    const body = parseCosignature(req.body);
    const accepted = await log.addCosignature(body.size, body.cosignature);
    // Every node serves the cosigned checkpoint (protocol §9).
    await deps.changes.publish('log');
    res.status(201).json({ size: body.size, ...accepted });
  });

  return router;
}
