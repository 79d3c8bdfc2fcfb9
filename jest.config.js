/**
 * Jest in native ESM mode (Nest 12 packages are ESM-only): the npm scripts pass --experimental-vm-modules.
 * Two tiers, selected with --selectProjects: unit tests beside the code (src/**\/*.spec.ts) need nothing but
 * Node; e2e tests (test/) boot the real app on a real PostgreSQL. The PostgreSQL is started by the e2e
 * project's globalSetup, which Jest runs only when at least one e2e suite is selected, so a unit run never
 * pays for it.
 *
 * Worker memory matters here beyond speed: a Jest worker that has not exited 500 ms after the run is killed
 * and reported as "failed to exit gracefully", and on this kind of VM a worker spends about 0.5 ms per MB of
 * its resident memory just unmapping its heap on exit (measured: 950 MB, killed; 600-770 MB, 310-370 ms).
 */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '/node_modules/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
    // tsconfig.json with isolatedModules: file by file, without type-checking (`npm run typecheck`, which CI
    // runs before the tests, checks the same files). A type-checking ts-jest holds a TypeScript program of the
    // whole project, some 300 MB, in every worker, and doubles a cold unit run; and ts-jest supports
    // `module: NodeNext` only this way.
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true } }],
  },
  transformIgnorePatterns: [],
};

export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
  // Run-wide options, read from the top level only (circus takes the timeout from the global config).
  testTimeout: 60_000,
  maxWorkers: 2,
  // In ESM mode Jest keeps every test file's module graph alive in its worker (jestjs/jest#14605): 15-30 MB
  // per e2e suite, hundreds after the fuzz suite. A worker past this after a file is replaced by a fresh one.
  workerIdleMemoryLimit: '256MB',
};
