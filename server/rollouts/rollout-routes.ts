import { Router } from 'express';
import actionSchema from '../../manifests/schema/api/rollout-action.schema.json' with { type: 'json' };
import cloneSchema from '../../manifests/schema/api/rollout-clone.schema.json' with { type: 'json' };
import createSchema from '../../manifests/schema/api/rollout-create.schema.json' with { type: 'json' };
import resumeSchema from '../../manifests/schema/api/rollout-resume.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { LIFECYCLE_ROLES } from '../auth/lifecycle-permissions.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { RequestHandler } from 'express';
import type { HealthService } from './health-service.js';
import type { TrustState } from '../trust/trust-state.js';
import type { RolloutService } from './rollout-service.js';
import { AppError } from '../errors.js';
import { optionalJsonBody } from '../http/json-body.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { REPORT_STATES } from '../protocol/report-rules.js';
import { compileValidator } from '../schema/validator.js';
import { CANCELLED_STATE } from './cancel-update-service.js';
import updateSchema from '../../manifests/schema/api/rollout-update.schema.json' with { type: 'json' };
import type { FailurePolicy } from './rollout.js';
import { withdrawalSummary } from '../releases/withdraw-service.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { ACTION_ROLES } from './rollout-permissions.js';
import type { Rollout } from './rollout.js';
import type { ActInput, RolloutDraft } from './rollout-service.js';
import type { RolloutAction } from './rollout-state.js';
import { rolloutStatus, type StatusDeps } from './status-service.js';

const parseDraft = compileValidator<RolloutDraft>(createSchema, 'rollout');
const parseResume = compileValidator<ActInput>(resumeSchema, 'resume body');
const parseClone = compileValidator<{ id?: string }>(cloneSchema, 'clone body');
const parseAction = compileValidator<{ reason?: string }>(actionSchema, 'action body');
const parseUpdate = compileValidator<{ failurePolicy: FailurePolicy; reason?: string }>(updateSchema, 'rollout update', [createSchema]);
const DEVICE_STATES = new Set<string>([...REPORT_STATES, 'timed_out', CANCELLED_STATE, 'silent']);

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
  startAt: r.startAt ?? null,
  statements: statements.map((s) => JSON.parse(s) as unknown),
});

export interface RolloutRoutesDeps extends Omit<StatusDeps, 'policy'> {
  rolloutService: Pick<RolloutService, 'create' | 'act' | 'clone' | 'setFailurePolicy'>;
  /** A tighter failure policy already crossed halts at once (protocol §7 PATCH). */
  health: Pick<HealthService, 'checkHalts'>;
  trust: Pick<TrustState, 'current'>;
  jsonBody: RequestHandler;
}

export function rolloutRoutes(deps: RolloutRoutesDeps): Router {
  const router = Router();
  const rolloutId = (req: Parameters<typeof pathParam>[0]) => pathParam(req, 'id', SLUG_RE, 'rollout id');
  const found = async (id: string): Promise<Rollout> => {
    const r = await deps.rollouts.get(id);
    if (!r) throw new AppError('not_found', `no rollout ${id}`);
    return r;
  };

  router.post('/v1/rollouts', requireRole('release-manager'), deps.jsonBody, async (req, res) => {
    const rollout = await deps.rolloutService.create(parseDraft(req.body), actorOf(principalOf(res)));
    res.status(201).json(view(rollout));
  });

  // protocol §5: resume takes { acknowledgeHalt, reason } to overrule a halt; the others an optional { reason }.
  const optionalBody = optionalJsonBody(deps.jsonBody);
  for (const [action, roles] of Object.entries(ACTION_ROLES) as [RolloutAction, Parameters<typeof requireRole>][]) {
    router.post(`/v1/rollouts/:id/${action}`, requireRole(...roles), optionalBody, async (req, res) => {
      // A reason on the other actions (e.g. why QA halted) goes into the audit entry and lastHalt.
      const input = action === 'resume' ? parseResume(req.body) : {};
      const note = action === 'resume' ? {} : parseAction(req.body);
      const r = await deps.rolloutService.act(rolloutId(req), action, actorOf(principalOf(res)), note.reason === undefined ? {} : { reason: note.reason }, input);
      res.json(view(r, (await deps.rollouts.statements(r.id)).map((s) => s.envelopeJson)));
    });
  }

  router.post('/v1/rollouts/:id/clone', requireRole('release-manager'), optionalBody, async (req, res) => {
    const body = parseClone(req.body);
    res.status(201).json(view(await deps.rolloutService.clone(rolloutId(req), body.id, actorOf(principalOf(res)))));
  });

  // protocol §7 fleet lifecycle: a running or paused rollout's failure policy; audit-logged, nothing re-signed.
  router.patch('/v1/rollouts/:id', requireRole(...LIFECYCLE_ROLES['failure-policy']), deps.jsonBody, async (req, res) => {
    const id = rolloutId(req);
    const body = parseUpdate(req.body);
    const r = await deps.rolloutService.setFailurePolicy(id, body.failurePolicy, actorOf(principalOf(res)), body.reason);
    // A lower threshold may already be crossed: judged now, not at the next report.
    await deps.health.checkHalts([id]);
    const after = (await deps.rollouts.get(id)) ?? r;
    res.json(view(after, (await deps.rollouts.statements(id)).map((s) => s.envelopeJson)));
  });

  router.get('/v1/rollouts', requireRole(...READERS), async (req, res) => {
    const page = parsePage(req.query);
    const rows = await deps.rollouts.page(page.cursor ?? '', page.limit);
    res.json({ rollouts: rows.map((r) => view(r)), nextCursor: rows.length === page.limit ? (rows[rows.length - 1] as Rollout).id : null });
  });

  router.get('/v1/rollouts/:id', requireRole(...READERS), async (req, res) => {
    const r = await found(rolloutId(req));
    // protocol §7: a rollout shows that its release was withdrawn.
    res.json({ ...view(r, (await deps.rollouts.statements(r.id)).map((s) => s.envelopeJson)), releaseWithdrawn: withdrawalSummary(await deps.releases.get(r.releaseId)) });
  });

  router.get('/v1/rollouts/:id/status', requireRole(...READERS), async (req, res) => {
    res.json(await rolloutStatus(rolloutId(req), { ...deps, policy: () => deps.trust.current().policy.signed }));
  });

  router.get('/v1/rollouts/:id/devices', requireRole(...READERS), async (req, res) => {
    const r = await found(rolloutId(req));
    const page = parsePage(req.query);
    const state = req.query.state === '' ? undefined : req.query.state;
    if (state !== undefined && (typeof state !== 'string' || !DEVICE_STATES.has(state))) {
      throw new AppError('bad_request', `state must be one of ${[...DEVICE_STATES].join(', ')}`);
    }
    // One statement for the page, last-seen times and latest errors included.
    const rows = await deps.rolloutDevices.listing(r.id, state, page.cursor ?? '', page.limit);
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
