import { Controller, Inject } from '@nestjs/common';
import { RateLimited } from '../rate-limit/rate-limited';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CurrentPrincipal } from '../auth/decorators';
import { Principal } from '../auth/principal';
import { RequestValidationError } from '../common/errors';
import { inspectInput, validateInput } from '../common/validation/api-validation.pipe';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AuthorizedMessage } from '../common/messaging/authorized-message.dto';
import { BidSessionMessageDto, ModelSessionMessageDto } from './dto/session-message.dto';
import { CloseResponseDto, CurrentSessionDto, PingResponseDto, SessionCreatedDto } from './dto/session-response.dto';
import { durationIssues, sessionDurationOf } from './session-duration';
import { presentClosed, presentCreated, presentCurrent, presentPing } from './session.presenter';
import { SessionService } from './session.service';

const DURATION_LOC = ['payload', 'sessionDuration'];

/** The payload's problems and the duration's bounds, in one 422. */
function validateMessage<T extends { sessionDuration?: number }>(dto: new () => T, payload: unknown, config: AppConfig): T {
  const { instance, issues } = inspectInput(dto, payload, 'payload', true);
  issues.push(...durationIssues(instance.sessionDuration, config, DURATION_LOC, issues));
  if (issues.length) throw new RequestValidationError(issues);
  return instance;
}

/** docs/API.md §6: the session operations for services inside the deployment, as thin as the HTTP controller. */
@RateLimited()
@Controller()
export class SessionMessages {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionService,
  ) {}

  @MessagePattern('session.create_model')
  async createForModel(@CurrentPrincipal() principal: Principal, @Payload() payload: unknown): Promise<SessionCreatedDto> {
    const message = validateMessage(ModelSessionMessageDto, payload, this.config);
    const outcome = await this.sessions.createForModel(principal, {
      model: message.model_id,
      sessionDuration: sessionDurationOf(message.sessionDuration, this.config, DURATION_LOC),
      directPayment: message.directPayment ?? false,
      failover: message.failover ?? false,
    });
    return presentCreated(outcome);
  }

  @MessagePattern('session.create_bid')
  async createForBid(@CurrentPrincipal() principal: Principal, @Payload() payload: unknown): Promise<SessionCreatedDto> {
    const message = validateMessage(BidSessionMessageDto, payload, this.config);
    const outcome = await this.sessions.createForBid(principal, {
      bidId: message.bid_id.toLowerCase(),
      sessionDuration: sessionDurationOf(message.sessionDuration, this.config, DURATION_LOC),
    });
    return presentCreated(outcome);
  }

  @MessagePattern('session.get')
  async current(@CurrentPrincipal() principal: Principal, @Payload() payload: unknown): Promise<CurrentSessionDto> {
    validateInput(AuthorizedMessage, payload, 'payload', true);
    return presentCurrent(await this.sessions.current(principal));
  }

  @MessagePattern('session.ping')
  async ping(@CurrentPrincipal() principal: Principal, @Payload() payload: unknown): Promise<PingResponseDto> {
    validateInput(AuthorizedMessage, payload, 'payload', true);
    return presentPing(await this.sessions.ping(principal));
  }

  @MessagePattern('session.close')
  async close(@CurrentPrincipal() principal: Principal, @Payload() payload: unknown): Promise<CloseResponseDto> {
    validateInput(AuthorizedMessage, payload, 'payload', true);
    return presentClosed(await this.sessions.close(principal));
  }
}
