import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApiDocument, openApiText } from './openapi';

const COMMITTED = resolve(__dirname, '../docs/openapi.json');

/** The first line where two texts differ, with its neighbours, so the failure says what changed. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at])}, generated ${JSON.stringify(b[at])}`;
}

describe('docs/openapi.json', () => {
  it('is the document the app serves at /api/v1/openapi.json (regenerate: npm run openapi)', async () => {
    const generated = openApiText(await buildOpenApiDocument());
    const committed = readFileSync(COMMITTED, 'utf8');
    if (committed !== generated) {
      throw new Error(
        `docs/openapi.json is stale — run \`npm run openapi\` and commit the result (${firstDifference(committed, generated)})`,
      );
    }
  });
});
