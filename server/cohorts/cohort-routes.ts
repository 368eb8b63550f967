import { Router } from 'express';
import semver from 'semver';
import cohortSchema from '../../manifests/schema/api/cohort.schema.json' with { type: 'json' };
import membersSchema from '../../manifests/schema/api/cohort-members.schema.json' with { type: 'json' };
import updateSchema from '../../manifests/schema/api/cohort-update.schema.json' with { type: 'json' };
import { READERS, requireRole } from '../auth/authorize.js';
import { actorOf, principalOf } from '../auth/principal.js';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { parsePage } from '../http/paging.js';
import { pathParam, SLUG_RE } from '../http/params.js';
import { compileValidator } from '../schema/validator.js';
import { toTimestamp } from '../protocol/trust/time.js';
import { ALL_COHORT, type Cohort } from './cohort.js';
import type { CohortService } from './cohort-service.js';
import type { CohortStore } from './cohort-store.js';

type CohortBody = Cohort & { members?: string[] };
const parseCohort = compileValidator<CohortBody>(cohortSchema, 'cohort');
const parseMembers = compileValidator<{ members: string[] }>(membersSchema, 'member list', [cohortSchema]);
const parseUpdate = compileValidator<{ description?: string | null; rule?: Cohort['rule'] | null }>(updateSchema, 'cohort update', [cohortSchema]);

function checkRange(rule: Cohort['rule'] | null | undefined): void {
  const range = rule?.versionRange;
  if (range !== undefined && semver.validRange(range) === null) {
    throw new AppError('validation_failed', 'cohort is not valid', { details: [{ path: '/rule/versionRange', message: `"${range}" is not a valid semver range` }] });
  }
}

export interface CohortRoutesDeps {
  cohorts: Pick<CohortStore, 'get' | 'list' | 'members'>;
  cohortService: CohortService;
  jsonBody: RequestHandler;
  now: () => Date;
}

export function cohortRoutes(deps: CohortRoutesDeps): Router {
  const router = Router();
  const { cohorts } = deps;

  router.post('/v1/cohorts', requireRole('release-manager'), deps.jsonBody, async (req, res) => {
    const body = parseCohort(req.body);
    const range = body.rule?.versionRange;
    if (range !== undefined && semver.validRange(range) === null) {
      throw new AppError('validation_failed', 'cohort is not valid', { details: [{ path: '/rule/versionRange', message: `"${range}" is not a valid semver range` }] });
    }
    const at = toTimestamp(deps.now());
    const actor = actorOf(principalOf(res));
    await deps.cohortService.create(body, actor, at);
    res.status(201).json(await cohorts.get(body.name));
  });

  router.get('/v1/cohorts', requireRole(...READERS), async (_req, res) => {
    res.json({ cohorts: await cohorts.list() });
  });

  router.get('/v1/cohorts/:name', requireRole(...READERS), async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    const found = await cohorts.get(name);
    if (!found) throw new AppError('not_found', `no cohort ${name}`);
    const page = parsePage(req.query, 10_000);
    const members = name === ALL_COHORT ? [] : await cohorts.members(name, page.cursor ?? '', page.limit);
    res.json({ ...found, members, nextCursor: members.length === page.limit ? members[members.length - 1] : null });
  });

  router.put('/v1/cohorts/:name/members', requireRole('release-manager'), deps.jsonBody, async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    // The object form documents itself; a bare array of ids is taken too.
    const { members } = parseMembers(Array.isArray(req.body) ? { members: req.body } : req.body);
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit and has no member list');
    const at = toTimestamp(deps.now());
    const actor = actorOf(principalOf(res));
    await deps.cohortService.replaceMembers(name, members, actor, at);
    res.json(await cohorts.get(name));
  });

  // protocol §7 fleet lifecycle: edit a cohort's description or rule (a rename is a new cohort).
  router.put('/v1/cohorts/:name', requireRole('release-manager'), deps.jsonBody, async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    const body = parseUpdate(req.body);
    checkRange(body.rule);
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit: it has no rule or description to edit');
    await deps.cohortService.update(name, body, actorOf(principalOf(res)), toTimestamp(deps.now()));
    res.json(await cohorts.get(name));
  });

  // protocol §7: 204, or 409 while a rollout that is not completed or cancelled names it.
  router.delete('/v1/cohorts/:name', requireRole('release-manager'), async (req, res) => {
    const name = pathParam(req, 'name', SLUG_RE, 'cohort name');
    if (name === ALL_COHORT) throw new AppError('conflict', 'the cohort "all" is implicit and always exists');
    await deps.cohortService.remove(name, actorOf(principalOf(res)), toTimestamp(deps.now()));
    res.status(204).end();
  });

  return router;
}
