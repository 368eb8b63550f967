import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Response } from 'express';
import { AppError } from '../errors.js';
import { packageRoot } from '../files/package-root.js';

/**
 * protocol §10: the page is served by this server, same origin, and runs
 * nothing it did not serve. No inline script or style at all: the built
 * bundle is files under /ui/assets/, and every value it shows goes into the
 * DOM as text (a device's error message stays text even if it is markup).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The package root: the nearest folder above this module holding package.json (source and dist/ alike). */
/** Where `npm run build` (vite, vite.config.ts) writes the dashboard. */
export const defaultDashboardDir = (): string => join(packageRoot(), 'dist', 'ui');

const secure = (res: Response): void => {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
};

/** GET /ui/ and its assets: public files (the data behind them needs a token); `GET /` leads there. */
export function dashboardRoutes(dir = defaultDashboardDir()): Router {
  const router = Router();
  const index = join(dir, 'index.html');
  // protocol §7: `GET /` sends a browser to the dashboard (a redirect that may change, so not permanent).
  router.get('/', (_req, res) => res.redirect(302, '/ui/'));
  // Non-strict routing matches /ui and /ui/ alike: the bare one is sent to the page's own URL.
  router.get('/ui', (req, res) => {
    secure(res);
    if (!req.originalUrl.split('?')[0]?.endsWith('/')) return res.redirect(301, '/ui/');
    if (!existsSync(index)) throw new AppError('unavailable', 'the dashboard is not built: run npm run build');
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(index);
  });
  // Built file names carry a content hash, so they never change under their name.
  router.use(
    '/ui/assets',
    express.static(join(dir, 'assets'), {
      index: false,
      redirect: false,
      fallthrough: true,
      immutable: true,
      maxAge: '365d',
      setHeaders: (res) => secure(res as unknown as Response),
    }),
  );
  // Anything else under /ui/ is a missing file, not a request needing a token.
  router.use('/ui', (req) => {
    throw new AppError('not_found', `no dashboard file ${req.path.slice(0, 100)}`);
  });
  return router;
}
