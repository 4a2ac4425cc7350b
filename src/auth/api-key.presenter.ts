import { ApiKey } from './api-key.entity';
import { displayPrefix } from './api-key.format';
import { ApiKeyResponseDto, CreatedApiKeyResponseDto } from './dto/api-key.dto';

/** The one place that decides what of a key leaves the server: never its hash. */
export function presentApiKey(key: ApiKey): ApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    key_prefix: displayPrefix(key.keyPrefix),
    is_default: key.isDefault,
    is_active: key.isActive,
    created_at: key.createdAt.toISOString(),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

export function presentCreatedApiKey(key: ApiKey, secret: string): CreatedApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    key: secret,
    key_prefix: displayPrefix(key.keyPrefix),
    is_default: key.isDefault,
    created_at: key.createdAt.toISOString(),
  };
}
