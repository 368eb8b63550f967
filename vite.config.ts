import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The QA dashboard (protocol §10, server/dashboard/web) built to dist/ui,
 * which the server serves at /ui/. Everything is bundled into hashed files
 * under /ui/assets/: no inline script or style, nothing fetched from elsewhere.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./server/dashboard/web', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/ui', import.meta.url)),
    emptyOutDir: true,
    // No module-preload polyfill: it is the one thing Vite would otherwise inline.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
});
