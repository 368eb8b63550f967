// A stand-in server process for the supervisor tests: says "ready" over IPC like a
// cluster worker's 'listening', then behaves as FAKE_WORKER says.
const mode = process.env.FAKE_WORKER ?? 'serve';
if (mode === 'fail-at-start') process.exit(3);
process.on('SIGTERM', () => {
  if (mode === 'stubborn') return; // ignores the polite stop
  setTimeout(() => process.exit(0), 20);
});
process.send?.('ready');
if (mode === 'crash-soon') setTimeout(() => process.exit(7), 100);
setInterval(() => {}, 1000);
