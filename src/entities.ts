import { AUTH_ENTITIES } from './auth/auth.entities';
import { SESSION_ENTITIES } from './session/session.entities';

/**
 * Every room's tables. Listed explicitly (no globs) so ts-jest, ts sources and dist/ all
 * load the same set; composed here because the database room knows no room's entities.
 */
export const ENTITIES = [...AUTH_ENTITIES, ...SESSION_ENTITIES];
