import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true },
  // `npm run dev:ui` proxies API calls to a running `npm start`/`npm run api`.
  server: { proxy: { '/api': 'http://localhost:3000' } },
});
