import { createHash } from 'node:crypto';
import { Router } from 'express';
import { API_ROUTES } from './api-routes.js';
import { buildOpenApiDocument } from './openapi-document.js';

/**
 * GET /v1/openapi.json (protocol §7, public). Built and serialised once, on
 * first request: the document only changes with the code.
 */
export function openApiRoutes(): Router {
  const router = Router();
  let cached: { json: string; etag: string } | undefined;
  router.get('/v1/openapi.json', (req, res) => {
    if (!cached) {
      const json = JSON.stringify(buildOpenApiDocument(API_ROUTES));
      cached = { json, etag: `"${createHash('sha256').update(json).digest('hex').slice(0, 32)}"` };
    }
    res.setHeader('ETag', cached.etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.headers['if-none-match'] === cached.etag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(cached.json);
  });
  return router;
}
