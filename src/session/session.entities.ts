import { Session } from './session.entity';

/** The tables of this room, for the one data source the composition root builds. */
export const SESSION_ENTITIES = [Session];
