import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { OptionalBody } from '../../common/validation/api-validation.pipe';
import { StringField } from '../../common/validation/fields';

@OptionalBody()
export class CreateApiKeyRequestDto {
  @ApiPropertyOptional({ description: 'A label for the key', minLength: 1, maxLength: 64, example: 'ci-bot' })
  @StringField({ optional: true, minLength: 1, maxLength: 64 })
  name?: string;
}

export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0c1d2e-8a9b-4c5d-9e6f-7a8b9c0d1e2f' })
  id: string;

  @ApiProperty({ nullable: true, type: String, example: 'ci-bot' })
  name: string | null;

  @ApiProperty({ description: "`sk-` and the key's 8-character prefix", example: 'sk-AbCd1234' })
  key_prefix: string;

  @ApiProperty({ example: true })
  is_default: boolean;

  @ApiProperty({ example: true })
  is_active: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, example: null })
  last_used_at: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, example: null })
  revoked_at: string | null;
}

export class CreatedApiKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0c1d2e-8a9b-4c5d-9e6f-7a8b9c0d1e2f' })
  id: string;

  @ApiProperty({ nullable: true, type: String, example: 'ci-bot' })
  name: string | null;

  @ApiProperty({
    description: 'The whole key. Shown only in this answer: store it now.',
    example: 'sk-AbCd1234.Qm9vdHN0cmFwLWtleS1leGFtcGxlLW5vdC1yZWFsLTEyMzQ1Ng',
  })
  key: string;

  @ApiProperty({ example: 'sk-AbCd1234' })
  key_prefix: string;

  @ApiProperty({ example: true })
  is_default: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T12:00:00.000Z' })
  created_at: string;
}

export class RevokedApiKeyResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0c1d2e-8a9b-4c5d-9e6f-7a8b9c0d1e2f' })
  id: string;

  @ApiProperty({ example: true })
  revoked: true;
}

export class MeResponseDto {
  @ApiProperty({ format: 'uuid', example: '0b5f8a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b' })
  id: string;

  @ApiProperty({ nullable: true, type: String, example: 'alice@example.com' })
  email: string | null;

  @ApiProperty({ example: 'https://login.example.com' })
  issuer: string;

  @ApiProperty({ example: 'alice' })
  subject: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T12:00:00.000Z' })
  created_at: string;
}
