/**
 * The dashboard's build: `npm run build:web` (also run by `npm install` through `prepare`, and
 * by `npm pack`) writes the static files to web/dist, which `baton server` serves at `/`.
 * Asset names carry a content hash, so the server can mark them immutable.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Relative URLs: the dashboard works behind a proxy that mounts it under a path.
  base: './',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
