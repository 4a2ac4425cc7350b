/** Two projects: fast unit specs beside the code, e2e suites against real services. */
// Transpile only (tsconfig has isolatedModules): type checking runs once for the whole tree
// (`npm run typecheck`), not per test file.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
// jose 6 (required by jwks-rsa) is ESM only,
// and jest cannot require ESM before Node 24.9: they are transpiled to CommonJS like our code.
const esmToCommonJs = ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true } }];
const transform = { '^.+\\.ts$': tsJest, '^.+\\.m?js$': esmToCommonJs };
const transformIgnorePatterns = ['/node_modules/(?!(.*/node_modules/)?(jose)/)'];
module.exports = {
  // A global option: jest ignores it inside a project.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/dev/**/*.spec.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
