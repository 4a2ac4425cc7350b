/** Domain events auth publishes for other modules (the session module closes a revoked key's session). */
export const API_KEY_REVOKED = 'api-key.revoked';
export const USER_DEACTIVATED = 'user.deactivated';

export interface ApiKeyRevokedEvent {
  apiKeyId: string;
  userId: string;
  /** The 8-character prefix (without `sk-`). */
  keyPrefix: string;
}

export interface UserDeactivatedEvent {
  userId: string;
}
