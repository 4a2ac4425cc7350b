import { Session } from './session.entity';

/** What a create asks for, after validation and resolution (model names → ids). */
export type SessionTarget =
  | { kind: 'model'; modelId: string; sessionDuration: number; directPayment: boolean; failover: boolean }
  | { kind: 'bid'; bidId: string; modelId: string; sessionDuration: number };

/** Rule 2's "same target": the same model for model sessions, the same bid for bid sessions. */
export function targetKey(target: SessionTarget): string {
  return target.kind === 'model' ? `model:${target.modelId}` : `bid:${target.bidId}`;
}

export function rowTargetKey(row: Session): string {
  return row.kind === 'model' ? `model:${row.modelId}` : `bid:${row.bidId}`;
}
