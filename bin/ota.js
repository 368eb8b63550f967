#!/usr/bin/env node
// `ota` command: the compiled CLI lives in dist/ (npm run build; `prepare` builds on install).
try {
  const { main } = await import('../dist/server/programs/cli/ota.js');
  await main(process.argv.slice(2));
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/server/programs/cli/ota.js')) {
    console.error('ota: the CLI is not built yet: run `npm run build` first');
    process.exitCode = 1;
  } else throw e;
}
