import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// The SPA is served by Wharf itself at `/`; in development, `vite` proxies the APIs to a
// running Wharf (WHARF_URL, default http://localhost:5000).
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: `${root}/dist`,
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/v2', '/charts', '/token'].map((p) => [p, { target: process.env['WHARF_URL'] ?? 'http://localhost:5000', changeOrigin: false }])),
  },
});
