import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsString, Matches, MinLength, ValidateBy } from 'class-validator';
import { BoolField, FalseOnlyField, IntField } from '../../common/validation/fields';

export const HEX32 = /^0x[0-9a-fA-F]{64}$/;
export const EXAMPLE_MODEL_ID = '0x6a4813e866a48da528c533e706344ea853a1d3f21e37b4c8e7ffd5ff25779018';
export const EXAMPLE_BID_ID = '0x9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';

/**
 * `model_id`: a blockchain id (`0x` + 64 hex) or a model name of 1–64 characters. The two
 * rules are decided by the value's shape, so they are custom constraints that keep the
 * names the 422 mapping knows (`matches`, `maxLength`).
 */
export class ModelSessionQueryDto {
  @ApiProperty({ description: 'A model blockchain id (0x + 64 hex) or a model name', example: EXAMPLE_MODEL_ID })
  @IsDefined()
  @IsString()
  @MinLength(1)
  @ValidateBy(
    {
      name: 'matches',
      validator: { validate: (v) => typeof v !== 'string' || !v.startsWith('0x') || HEX32.test(v) },
      constraints: [],
    },
    { message: 'String should match pattern ^0x[0-9a-fA-F]{64}$ (a blockchain id) or be a model name' },
  )
  @ValidateBy(
    {
      name: 'maxLength',
      validator: { validate: (v) => typeof v !== 'string' || v.startsWith('0x') || v.length <= 64 },
    },
    { message: 'A model name should have at most 64 characters' },
  )
  model_id: string;
}

export class BidSessionQueryDto {
  @ApiProperty({ description: 'A bid blockchain id (0x + 64 hex)', example: EXAMPLE_BID_ID })
  @IsDefined()
  @IsString()
  @Matches(HEX32, { message: 'String should match pattern ^0x[0-9a-fA-F]{64}$' })
  bid_id: string;
}

export class ModelSessionBodyDto {
  @ApiPropertyOptional({
    description: 'Seconds, from SESSION_MIN_DURATION_S (300) to SESSION_MAX_DURATION_S (86400); default 3600',
    example: 3600,
    type: Integer(),
  })
  @IntField({ optional: true })
  sessionDuration?: number;

  @ApiPropertyOptional({ description: 'Passed to the node', example: false, default: false })
  @BoolField({ optional: true })
  directPayment?: boolean;

  @ApiPropertyOptional({
    description: "Recorded on the session (the gateway's own failover); the node is always sent false",
    example: false,
    default: false,
  })
  @BoolField({ optional: true })
  failover?: boolean;
}

export class BidSessionBodyDto {
  @ApiPropertyOptional({
    description: 'Seconds, from SESSION_MIN_DURATION_S (300) to SESSION_MAX_DURATION_S (86400); default 3600',
    example: 3600,
    type: Integer(),
  })
  @IntField({ optional: true })
  sessionDuration?: number;

  @ApiPropertyOptional({ description: "Must be absent or false: the node's bid route cannot honour it", example: false, enum: [false] })
  @FalseOnlyField()
  directPayment?: false;

  @ApiPropertyOptional({ description: "Must be absent or false: the node's bid route cannot honour it", example: false, enum: [false] })
  @FalseOnlyField()
  failover?: false;
}

/** Swagger's name for integer (Number would say "number"). */
function Integer(): 'integer' {
  return 'integer';
}
