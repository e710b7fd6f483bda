import { defineConfig } from 'vitest/config';

// The browser tests (`npm run test:browser`): headless Chromium, driven from Node by
// playwright-core, opens host pages on loopback origins whose chat box talks to a real
// `wrangler dev` answering from the simulator — not inside workerd like `npm test`.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['./test/browser/global-setup.ts'],
    // One edge for every file, and fixed ports for the host pages: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 150_000,
  },
});
