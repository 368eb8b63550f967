import express from 'express';

/**
 * The ceiling of our own stack, measured in the same run: bare Express 5
 * answering the same cached bytes the poll path sends, and express.json()
 * taking the same POST body without storing it.
 */
const body = process.argv[2] ?? '{}';
const etag = '"baseline"';
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const cached = (_req: express.Request, res: express.Response): void => {
  res.setHeader('ETag', etag);
  res.type('application/json').send(body);
};
app.get('/cached', cached);
// The poll's own path shape, so the router matches a parameter as it would for the real route.
app.get('/v1/devices/:deviceId/update', cached);
app.post('/json', express.json({ limit: '1mb' }), (req, res) => {
  res.json({ accepted: Array.isArray(req.body) ? req.body.length : 1 });
});
const server = app.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
});
