import { ApiKey } from './api-key.entity';
import { User } from './user.entity';

/** The tables of this room, for the one data source the composition root builds. */
export const AUTH_ENTITIES = [User, ApiKey];
