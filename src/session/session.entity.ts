import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { CloseReason, SessionStatus } from './session-lifecycle';

export type { CloseReason, SessionStatus } from './session-lifecycle';
export type SessionKind = 'model' | 'bid';

/**
 * One on-chain session (or the intent to open one) bound to an API key. The partial
 * unique index `uq_sessions_live_per_key` allows one `opening`/`active` row per key.
 */
@Entity({ name: 'sessions' })
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'api_key_id' })
  apiKeyId: string;

  @Column('uuid', { name: 'user_id' })
  userId: string;

  @Column('varchar', { length: 8 })
  kind: SessionKind;

  @Column('varchar', { name: 'model_id', length: 66, nullable: true })
  modelId: string | null;

  @Column('varchar', { name: 'bid_id', length: 66, nullable: true })
  bidId: string | null;

  @Column('varchar', { length: 42, nullable: true })
  provider: string | null;

  @Column('varchar', { name: 'chain_session_id', length: 66, nullable: true })
  chainSessionId: string | null;

  @Column('varchar', { length: 16 })
  status: SessionStatus;

  @Column('integer', { name: 'session_duration' })
  sessionDuration: number;

  @Column('boolean', { name: 'direct_payment', default: false })
  directPayment: boolean;

  @Column('boolean', { default: false })
  failover: boolean;

  @Column('timestamptz', { name: 'open_requested_at', nullable: true })
  openRequestedAt: Date | null;

  /** When the open was sent (null: never sent). With the next column, rule 6's proof. */
  @Column('timestamptz', { name: 'open_sent_at', nullable: true })
  openSentAt: Date | null;

  /** The newest wallet session just before the send (null: none, or never sent). */
  @Column('varchar', { name: 'wallet_newest_before_send', length: 66, nullable: true })
  walletNewestBeforeSend: string | null;

  @Column('timestamptz', { name: 'opened_at', nullable: true })
  openedAt: Date | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('timestamptz', { name: 'closed_at', nullable: true })
  closedAt: Date | null;

  /** Why it was closed (docs/API.md §5); set once, by the first move towards closed. */
  @Column('varchar', { name: 'close_reason', length: 32, nullable: true })
  closeReason: CloseReason | null;

  @Column('text', { name: 'failure_reason', nullable: true })
  failureReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
