import type { RequestListener } from 'node:http';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { artifactDownloadRoutes, artifactUploadRoutes } from './artifacts/artifact-routes.js';
import { auditRoutes } from './audit/audit-routes.js';
import { authenticate } from './auth/authorize.js';
import { whoamiRoutes } from './auth/whoami-routes.js';
import { cohortRoutes } from './cohorts/cohort-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { deviceTokenResolver } from './devices/device-auth.js';
import { enrollRoute, pollRoute } from './devices/device-routes.js';
import { deviceQueryRoutes } from './devices/device-query-routes.js';
import { reportRoute } from './reports/report-routes.js';
import { createDeviceEdge, type DeviceEdge } from './http/device-edge.js';
import { deviceLifecycleRoutes } from './devices/device-lifecycle-routes.js';
import { rolloutRoutes } from './rollouts/rollout-routes.js';
import { timelineRoutes } from './rollouts/timeline-routes.js';
import type { AppContext } from './context.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { limitPrincipal } from './http/rate-limit.js';
import { refuseMissingHost, refuseNul, refuseTransferCoding } from './http/server-limits.js';
import { createRequestObserver, observeRequests, type RequestObserver } from './http/request-observer.js';
import { healthRoutes, metricsRoutes } from './ops/ops-routes.js';
import { API_ROUTES } from './openapi/api-routes.js';
import { refuseUnknownPaths } from './openapi/known-paths.js';
import { openApiRoutes } from './openapi/openapi-routes.js';
import { releaseRoutes } from './releases/release-routes.js';
import { logRoutes } from './transparency/log-routes.js';
import { trustRoutes } from './trust/trust-routes.js';
import { tokenRoutes } from './auth/token-routes.js';
import type { TokenResolver } from './auth/authorize.js';
import { ddiPollRoute, ddiRoutes, type DdiRouteDeps } from './ddi/ddi-routes.js';
import { admissionRoutes } from './devices/admission/admission-routes.js';
import { menderDownloadRoutes } from './mender/mender-download-routes.js';
import { menderRoutes } from './mender/mender-gateway.js';

/** Operator tokens, noting each use in memory (written behind by ctx.tokenUsage). */
const operatorResolver = (ctx: AppContext): TokenResolver => async (token) => {
  const p = await ctx.operatorTokens.authenticate(token);
  if (p?.kind === 'operator') ctx.tokenUsage.touch(p.tokenId);
  return p;
};

/** What the DDI gateway's routes need (protocol §11), and nothing else of the context. */
const ddiRouteDeps = (ctx: AppContext, observer: RequestObserver, limiter: RequestHandler): DdiRouteDeps => ({
  gateway: ctx.ddi,
  config: { tenant: ctx.config.ddiTenant, publicUrl: ctx.config.publicUrl },
  artifacts: ctx.artifacts,
  artifact: (sha256) => ctx.artifacts.details(sha256),
  limiter,
  jsonBody: ctx.jsonBody,
  observer,
  logger: ctx.logger,
});

/**
 * Builds the HTTP request listener from a context; never listens (serve.ts
 * and tests do). The routes a fleet calls at scale — poll, reports and
 * enrollment — are answered by the device edge (http/device-edge.ts) ahead
 * of Express; everything else goes through Express.
 */
export function createApp(ctx: AppContext): RequestListener {
  const observer = createRequestObserver({ logger: ctx.logger, metrics: ctx.metrics, authFailuresPerMinute: ctx.config.authFailuresPerMinute, outage: ctx.outage });
  // One limiter for both ways in: an operator's budget is the same whichever path served it.
  const limiter = limitPrincipal(ctx.config.rateLimitPerMinute);
  const edge = createDeviceEdgeOf(ctx, observer, limiter);
  const app = createExpressApp(ctx, observer, limiter);
  return (req, res) => {
    if (!refuseMissingHost(req, res) && !refuseTransferCoding(req, res) && !refuseNul(req, res) && !edge.serve(req, res)) app(req, res);
  };
}

/**
 * The device edge with the native protocol's hot routes (protocol §7). A
 * gateway's hot routes (hawkBit DDI, Mender) are registered here beside
 * them, built from `ctx.core` (docs/architecture.md).
 */
export function createDeviceEdgeOf(ctx: AppContext, observer: RequestObserver, limiter: RequestHandler): DeviceEdge {
  const edge = createDeviceEdge({ observer, logger: ctx.logger, maxJsonBytes: ctx.config.maxJsonBytes });
  edge.register(pollRoute({ core: ctx.core }));
  edge.register(reportRoute({ core: ctx.core }));
  edge.register(enrollRoute({ core: ctx.core, limiter }));
  // protocol §11: the hawkBit DDI base poll, answered from memory like the native poll.
  edge.register(ddiPollRoute(ddiRouteDeps(ctx, observer, limiter)));
  // protocol §12: the Mender device API (admission, inventory, deployments/next, status, log).
  for (const route of menderRoutes(ctx.mender)) edge.register(route);
  return edge;
}

/** Every route but the fast paths (exported so test/openapi can list what it answers). */
export function createExpressApp(ctx: AppContext, observer: RequestObserver, limiter: RequestHandler = limitPrincipal(ctx.config.rateLimitPerMinute)): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every answer is JSON (or the dashboard's own typed files): never let a browser sniff it into HTML.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(observeRequests(observer));

  // Public: health for load balancers, trust documents, content-addressed artifacts.
  app.use(healthRoutes(ctx));
  app.use(openApiRoutes());
  app.use(trustRoutes(ctx));
  app.use(artifactDownloadRoutes(ctx));
  // protocol §12: a signed, expiring link is the credential of a Mender client's download.
  app.use(menderDownloadRoutes({ links: ctx.mender.links, artifacts: ctx.artifacts, now: ctx.now }));
  app.use(logRoutes(ctx));
  // The dashboard's files (protocol §10); everything they show comes from the API below, with a token.
  app.use(dashboardRoutes());
  // protocol §11: the hawkBit DDI gateway authenticates its own schemes (TargetToken, GatewayToken).
  app.use(ddiRoutes(ddiRouteDeps(ctx, observer, limiter)));

  // protocol §7: a path no route answers is 404 with or without a token (checked before the token).
  app.use(refuseUnknownPaths(API_ROUTES));
  app.use(authenticate([operatorResolver(ctx), deviceTokenResolver(ctx.devices)]));
  app.use(limiter);
  app.use(whoamiRoutes());
  app.use(metricsRoutes(ctx));
  app.use(releaseRoutes(ctx));
  app.use(artifactUploadRoutes(ctx));
  app.use(deviceQueryRoutes(ctx));
  app.use(deviceLifecycleRoutes(ctx));
  app.use(admissionRoutes(ctx));
  app.use(cohortRoutes(ctx));
  app.use(rolloutRoutes(ctx));
  app.use(timelineRoutes(ctx));
  app.use(auditRoutes(ctx));
  app.use(tokenRoutes(ctx));

  app.use(notFound);
  app.use(errorHandler(ctx.logger, observer));
  return app;
}
