import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Every test runs inside workerd with the Worker's real local KV. The upstream is the
// in-repo Messages API simulator, reached through the outbound guard in test/setup.ts:
// any request to another host fails the test.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './src/index.ts',
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ANTHROPIC_BASE_URL: 'http://simulator.test',
          ANTHROPIC_API_KEY: 'sk-ant-test-upstream-secret',
          ADMIN_TOKEN: 'test-admin-token',
          SSE_PING_INTERVAL_MS: '300',
          UPSTREAM_IDLE_TIMEOUT_MS: '2500',
          // The API's minimum, so long-conversation tests compact after a few turns.
          COMPACT_AT_INPUT_TOKENS: '50000',
        },
      },
    }),
  ],
  test: {
    setupFiles: ['./test/setup.ts'],
    include: ['test/**/*.test.ts'],
    // Those run in Chromium against wrangler dev: `npm run test:browser` (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    testTimeout: 20_000,
  },
});
