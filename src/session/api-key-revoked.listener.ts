import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { failureLogFields } from '../common/errors';
import { API_KEY_REVOKED, ApiKeyRevokedEvent } from '../auth/events';
import { SessionCloser } from './session-closer';
import { isUsable } from './session-lifecycle';
import { SessionRepository } from './session.repository';

/** A revoked key's live session is closed on chain in the background (the sweeper retries failures). */
@Injectable()
export class ApiKeyRevokedListener {
  private readonly logger = new Logger(ApiKeyRevokedListener.name);

  constructor(
    private readonly sessions: SessionRepository,
    private readonly closer: SessionCloser,
  ) {}

  @OnEvent(API_KEY_REVOKED, { async: true, promisify: true })
  async closeSessionOf(event: ApiKeyRevokedEvent): Promise<void> {
    try {
      for (const row of await this.sessions.held(event.apiKeyId)) {
        // An `opening` one is settled by the opener or the reconciler; the sweeper closes it then.
        if (isUsable(row.status) && row.chainSessionId) await this.closer.closeQuietly(row, [row.status], 'revoked');
      }
    } catch (error) {
      // Nobody awaits a background listener: the sweeper closes what this could not.
      this.logger.warn({ ...failureLogFields(error), apiKeyId: event.apiKeyId }, "could not close the revoked key's session");
    }
  }
}
