import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// The relay serves /sync, /ws/<doc>, /healthz and /api on one port; in dev
// Vite forwards them so the app can always use its own origin.
const relay = { target: 'http://127.0.0.1:8080', ws: true, changeOrigin: true };

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      registerType: 'autoUpdate',
      // Registered from main.tsx through `virtual:pwa-register`.
      injectRegister: false,
      includeAssets: ['icon.svg', 'apple-touch-icon.png'],
      manifest: {
        name: 'Lattice',
        short_name: 'Lattice',
        description: 'Collaborative notes that work offline.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: '#4f46e5',
        background_color: '#f7f7f5',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          {
            src: '/icon-maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,ico,webmanifest}'],
        // /w/<workspace>/<note> must open offline: every navigation gets the app shell.
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/(ws|sync|api|healthz)/],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  build: {
    // The lazily loaded editor chunk (CodeMirror plus the grammars Markdown embeds) is ~520 kB.
    chunkSizeWarningLimit: 600,
  },
  resolve: {
    // One copy of each, or Yjs warns and CodeMirror extensions stop matching.
    dedupe: ['yjs', 'y-protocols', 'lib0', '@codemirror/state', '@codemirror/view'],
  },
  server: {
    proxy: {
      '/sync': relay,
      '/ws': relay,
      '/healthz': relay,
      '/api': relay,
    },
  },
  preview: {
    proxy: {
      '/sync': relay,
      '/ws': relay,
      '/healthz': relay,
      '/api': relay,
    },
  },
});
