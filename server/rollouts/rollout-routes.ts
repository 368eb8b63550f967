import { Router } from 'express';
import actionSchema from '../../manifests/schema/api/rollout-action.schema.json' with { type: 'json' };
import cloneSchema from '../../manifests/schema/api/rollout-clone.schema.json' with { type: 'json' };
import createSchema from '../../manifests/schema/api/rollout-create.schema.json' with { type: 'json' };
import resumeSchema from '../../manifests/schema/api/rollout-resume.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { optionalJsonBody } from '../http/json-body.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { REPORT_STATES } from '../reports/report-rules.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../trust/time.js';
import { ACTION_ROLES } from './rollout-permissions.js';
import type { Rollout } from './rollout.js';
import type { ActInput, RolloutDraft } from './rollout-service.js';
import type { RolloutAction } from './rollout-state.js';
import { rolloutStatus } from './status-service.js';

const parseDraft = compileValidator<RolloutDraft>(createSchema, 'rollout');
const parseResume = compileValidator<ActInput>(resumeSchema, 'resume body');
const parseClone = compileValidator<{ id?: string }>(cloneSchema, 'clone body');
const parseAction = compileValidator<{ reason?: string }>(actionSchema, 'action body');
const DEVICE_STATES = new Set<string>([...REPORT_STATES, 'timed_out', 'silent']);

const view = (r: Rollout, statements: string[] = []) => ({
  id: r.id,
  releaseId: r.releaseId,
  salt: r.salt,
  stages: r.stages,
  failurePolicy: r.failurePolicy,
  state: r.state,
  currentStage: r.currentStage,
  stageStartedAt: r.stageStartedAt === null ? null : toTimestamp(new Date(r.stageStartedAt)),
  statementVersion: r.statementVersion,
  createdAt: r.createdAt,
  createdBy: r.createdBy,
  updatedAt: r.updatedAt,
  lastHalt: r.lastHalt,
  overruledHalt: r.overruledHalt,
  statements: statements.map((s) => JSON.parse(s) as unknown),
});

export function rolloutRoutes(ctx: AppContext): Router {
  const router = Router();
  const rolloutId = (req: Parameters<typeof pathParam>[0]) => pathParam(req, 'id', SLUG_RE, 'rollout id');
  const found = async (id: string): Promise<Rollout> => {
    const r = await ctx.rollouts.get(id);
    if (!r) throw new AppError('not_found', `no rollout ${id}`);
    return r;
  };

  router.post('/v1/rollouts', requireRole('release-manager'), ctx.jsonBody, async (req, res) => {
    const rollout = await ctx.rolloutService.create(parseDraft(req.body), actorOf(principalOf(res)));
    res.status(201).json(view(rollout));
  });

  // protocol §5: resume takes { acknowledgeHalt, reason } to overrule a halt; the others an optional { reason }.
  const optionalBody = optionalJsonBody(ctx.jsonBody);
  for (const [action, roles] of Object.entries(ACTION_ROLES) as [RolloutAction, Parameters<typeof requireRole>][]) {
    router.post(`/v1/rollouts/:id/${action}`, requireRole(...roles), optionalBody, async (req, res) => {
      // A reason on the other actions (e.g. why QA halted) goes into the audit entry and lastHalt.
      const input = action === 'resume' ? parseResume(req.body) : {};
      const note = action === 'resume' ? {} : parseAction(req.body);
      const r = await ctx.rolloutService.act(rolloutId(req), action, actorOf(principalOf(res)), note.reason === undefined ? {} : { reason: note.reason }, input);
      res.json(view(r, (await ctx.rollouts.statements(r.id)).map((s) => s.envelopeJson)));
    });
  }

  router.post('/v1/rollouts/:id/clone', requireRole('release-manager'), optionalBody, async (req, res) => {
    const body = parseClone(req.body);
    res.status(201).json(view(await ctx.rolloutService.clone(rolloutId(req), body.id, actorOf(principalOf(res)))));
  });

  router.get('/v1/rollouts', requireRole(...READERS), async (req, res) => {
    const page = parsePage(req.query);
    const rows = await ctx.rollouts.page(page.cursor ?? '', page.limit);
    res.json({ rollouts: rows.map((r) => view(r)), nextCursor: rows.length === page.limit ? (rows[rows.length - 1] as Rollout).id : null });
  });

  router.get('/v1/rollouts/:id', requireRole(...READERS), async (req, res) => {
    const r = await found(rolloutId(req));
    res.json(view(r, (await ctx.rollouts.statements(r.id)).map((s) => s.envelopeJson)));
  });

  router.get('/v1/rollouts/:id/status', requireRole(...READERS), async (req, res) => {
    res.json(await rolloutStatus(rolloutId(req), { ...ctx, policy: () => ctx.trust.current().policy.signed }));
  });

  router.get('/v1/rollouts/:id/devices', requireRole(...READERS), async (req, res) => {
    const r = await found(rolloutId(req));
    const page = parsePage(req.query);
    const state = req.query.state === '' ? undefined : req.query.state;
    if (state !== undefined && (typeof state !== 'string' || !DEVICE_STATES.has(state))) {
      throw new AppError('bad_request', `state must be one of ${[...DEVICE_STATES].join(', ')}`);
    }
    // One statement for the page, last-seen times and latest errors included.
    const rows = await ctx.rolloutDevices.listing(r.id, state, page.cursor ?? '', page.limit);
    const devices = rows.map((d) => ({
      deviceId: d.deviceId,
      stage: d.stage,
      state: d.state ?? 'silent',
      offeredAt: toTimestamp(new Date(d.offeredAt)),
      stateAt: d.stateAt === null ? null : toTimestamp(new Date(d.stateAt)),
      lastSeen: d.lastSeen === null ? null : toTimestamp(new Date(d.lastSeen)),
      settings: d.settings === null ? null : (JSON.parse(d.settings) as unknown),
      // What the device said went wrong, as it said it (attacker-controlled text: clients escape it).
      error: d.error,
    }));
    res.json({ devices, nextCursor: rows.length === page.limit ? (rows[rows.length - 1]?.deviceId ?? null) : null });
  });

  return router;
}
