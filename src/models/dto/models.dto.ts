import { ApiProperty } from '@nestjs/swagger';

const MODEL_ID = '0x6a4813e866a48da528c533e706344ea853a1d3f21e37b4c8e7ffd5ff25779018';
const BID_ID = '0x3ba6a8e2e4f3a9c8b1d0f7e6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938';
const ADDRESS = '0x7a2b1c3d4e5f60718293a4b5c6d7e8f901234567';

export class ModelResponseDto {
  @ApiProperty({ description: "The model's name (not unique: use `blockchainID` where two share it)", example: 'llama-3.3-70b' })
  id: string;

  @ApiProperty({ description: "The model's id on the marketplace, lower-case", pattern: '^0x[0-9a-f]{64}$', example: MODEL_ID })
  blockchainID: string;

  @ApiProperty({ enum: ['model'], example: 'model' })
  object: 'model';

  @ApiProperty({ description: 'Registration time, unix seconds', example: 1735689600 })
  created: number;

  @ApiProperty({ description: "The owner's address, lower-case", pattern: '^0x[0-9a-f]{40}$', example: ADDRESS })
  owned_by: string;

  @ApiProperty({ type: [String], example: ['LLM', 'chat'] })
  tags: string[];

  @ApiProperty({ description: 'LLM, STT, TTS, EMBEDDING or UNKNOWN', example: 'LLM' })
  modelType: string;
}

export class ModelListResponseDto {
  @ApiProperty({ enum: ['list'], example: 'list' })
  object: 'list';

  @ApiProperty({ type: [ModelResponseDto] })
  data: ModelResponseDto[];
}

export class BidResponseDto {
  @ApiProperty({ description: "The bid's id, lower-case", pattern: '^0x[0-9a-f]{64}$', example: BID_ID })
  id: string;

  @ApiProperty({ description: "The provider's address, lower-case", pattern: '^0x[0-9a-f]{40}$', example: ADDRESS })
  provider: string;

  @ApiProperty({
    description: 'Price in wei per second, a decimal string (exact beyond 2^53)',
    pattern: '^[0-9]+$',
    example: '100000000000',
  })
  pricePerSecond: string;

  @ApiProperty({ description: 'When the bid was made, unix seconds', example: 1735690200 })
  createdAt: number;
}

export class BidListResponseDto {
  @ApiProperty({ enum: ['list'], example: 'list' })
  object: 'list';

  @ApiProperty({ type: [BidResponseDto] })
  data: BidResponseDto[];
}
