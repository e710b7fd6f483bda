/**
 * The shape of src/, checked in CI (`npm run lint:deps`): imports point down the layers
 * below, from the front door to the leaves, never back, and nothing is circular or orphaned.
 * README "How the code is laid out" says what each layer holds.
 */
const layers = [
  ['entry', '^src/(index|app)[.]ts$'],
  ['front-doors', '^src/(routes|queues)/'],
  ['middleware', '^src/(middleware/|env[.]ts$)'],
  ['conversation', '^src/conversation/'],
  ['limits', '^src/limits/'],
  ['outbound', '^src/(anthropic|webhooks)/'],
  ['store', '^src/store/'],
  ['contract', '^src/contract/'],
  ['base', '^src/((errors|config|log)[.]ts$|lib/)'],
];

const downOnly = layers.slice(1).map(([name, path], i) => ({
  name: `${name}-imports-down-only`,
  comment: `${name} may import only the layers below it`,
  severity: 'error',
  from: { path },
  to: {
    path: layers
      .slice(0, i + 1)
      .map(([, above]) => `(${above})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...downOnly,
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment:
        'A module nothing imports is dead code (the entry, type declarations and the OpenAPI builder, which runs ahead of time, aside).',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: ['[.]d[.]ts$', '^src/index[.]ts$', '^src/contract/openapi[.]ts$'],
      },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: ['^cloudflare:'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: 'worker-configuration[.]d[.]ts$' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
