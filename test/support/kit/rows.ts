import type { TestDatabase } from '../database';

export interface SessionRow {
  id: string;
  status: string;
  chain_session_id: string | null;
  model_id: string | null;
  closed_at: Date | null;
  failure_reason: string | null;
  close_reason: string | null;
}

/** The key's session rows, oldest first. */
export const rowsOf = (db: TestDatabase, keyId: string): Promise<SessionRow[]> =>
  db.query<SessionRow>(
    'SELECT id, status, chain_session_id, model_id, closed_at, failure_reason, close_reason FROM sessions WHERE api_key_id = $1 ORDER BY created_at',
    [keyId],
  );

/** How many of the key's rows are live (`opening` or `active`). */
export async function liveCount(db: TestDatabase, keyId: string): Promise<number> {
  const [row] = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM sessions WHERE api_key_id = $1 AND status IN ('opening', 'active')`,
    [keyId],
  );
  return Number(row.n);
}
