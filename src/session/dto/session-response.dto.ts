import { ApiProperty } from '@nestjs/swagger';

const SESSION_ID = '0x3c1f5a9e2b7d4c6a8e0f1b3d5a7c9e1f2b4d6a8c0e2f4a6b8d0c2e4f6a8b0c2d';
const MODEL_ID = '0x6a4813e866a48da528c533e706344ea853a1d3f21e37b4c8e7ffd5ff25779018';
const BID_ID = '0x9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
const PROVIDER = '0x8f2d6c1e4b3a5d7c9e0f1a2b3c4d5e6f7a8b9c0d';

export class SessionCreatedDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: 'Session created and associated with API key' }) message: string;
  @ApiProperty({ example: SESSION_ID }) session_id: string;
  @ApiProperty({ example: 'sk-AbCd1234' }) api_key_prefix: string;
  @ApiProperty({ description: 'The resolved model blockchain id', example: MODEL_ID }) model: string;
  @ApiProperty({ nullable: true, type: String, example: BID_ID }) bid_id: string | null;
  @ApiProperty({ nullable: true, type: String, example: PROVIDER }) provider: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'The on-chain EndsAt',
    example: '2026-11-25T13:00:00.000Z',
  })
  expires_at: string | null;
  @ApiProperty({ description: 'true: an existing session for the same target was returned; nothing was sent on chain', example: false })
  reused: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'The session this one replaced (closed on chain)', example: null })
  replaced_session_id: string | null;
}

export class CurrentSessionDto {
  @ApiProperty({ nullable: true, type: String, description: 'null while the first session of the key opens', example: SESSION_ID })
  session_id: string | null;
  @ApiProperty({ nullable: true, type: String, example: MODEL_ID }) model: string | null;
  @ApiProperty({ nullable: true, type: String, example: BID_ID }) bid_id: string | null;
  @ApiProperty({ nullable: true, type: String, example: PROVIDER }) provider: string | null;
  @ApiProperty({ enum: ['active', 'opening'], example: 'active' }) status: 'active' | 'opening';
  @ApiProperty({ nullable: true, type: String, format: 'date-time', example: '2026-11-25T12:00:00.000Z' }) opened_at: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', example: '2026-11-25T13:00:00.000Z' }) expires_at: string | null;
  @ApiProperty({ example: 'sk-AbCd1234' }) api_key_prefix: string;
}

export class PingResponseDto {
  @ApiProperty({ enum: ['alive', 'dead', 'expired', 'timeout', 'busy', 'no_session'], example: 'alive' }) status: string;
  @ApiProperty({ example: 'Session is alive' }) message: string;
  @ApiProperty({ required: false, example: SESSION_ID }) session_id?: string;
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ required: false, description: 'Only for dead sessions: a short reason', example: 'provider failure' }) error?: string;
}

export class CloseResponseDto {
  @ApiProperty({ example: true }) success: boolean;
  @ApiProperty({ example: 'Session closed successfully' }) message: string;
  @ApiProperty({ nullable: true, type: String, example: SESSION_ID }) session_id: string | null;
}
