import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { RateLimited } from '../rate-limit/rate-limited';
import {
  ApiBadGatewayResponse,
  ApiBody,
  ApiConflictResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { Authenticated, CurrentPrincipal } from '../auth/decorators';
import { Principal } from '../auth/principal';
import { errorExample, validationExample } from '../common/openapi';
import { ModelNotFoundError, ProviderNotConfiguredError, ProviderTimeoutError, ProviderUpstreamError } from '../proxy-router/errors';
import { RawInput, RawRequestInput } from '../common/validation/raw-input';
import { validateRequest } from '../common/validation/api-validation.pipe';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  BidSessionBodyDto,
  BidSessionQueryDto,
  EXAMPLE_BID_ID,
  EXAMPLE_MODEL_ID,
  ModelSessionBodyDto,
  ModelSessionQueryDto,
} from './dto/session-request.dto';
import { CloseResponseDto, CurrentSessionDto, PingResponseDto, SessionCreatedDto } from './dto/session-response.dto';
import { durationIssues, sessionDurationOf } from './session-duration';
import { presentClosed, presentCreated, presentCurrent, presentPing } from './session.presenter';
import { NoActiveSessionError, NoApiKeyError, OpenOutcomeUnknownError, SessionOpeningError, UnknownBidError } from './errors';
import { SessionService } from './session.service';

const DURATION_LOC = ['body', 'sessionDuration'];

/** The answers every route that reaches the node can give. */
const NodeFailures = () =>
  applyDecorators(
    ApiBadGatewayResponse({
      description: 'The proxy-router answered with an error',
      schema: errorExample(new ProviderUpstreamError()),
    }),
    ApiServiceUnavailableResponse({
      description: 'The proxy-router is unreachable, not configured, or its circuit is open',
      schema: errorExample(new ProviderNotConfiguredError()),
    }),
    ApiGatewayTimeoutResponse({
      description: 'The proxy-router timed out',
      schema: errorExample(new ProviderTimeoutError()),
    }),
  );

const CreateAnswers = () =>
  applyDecorators(
    ApiOkResponse({ type: SessionCreatedDto, description: 'Created, reused (`reused: true`) or replacing (`replaced_session_id`)' }),
    ApiConflictResponse({
      description: 'No API key yet (user tokens), or an ambiguous model name',
      schema: errorExample(new NoApiKeyError()),
    }),
    ApiUnprocessableEntityResponse({
      schema: validationExample(['body', 'sessionDuration'], 'greater_than_equal', 'Input should be greater than or equal to 60'),
    }),
    NodeFailures(),
    ApiGatewayTimeoutResponse({
      description: 'The proxy-router timed out, or the outcome of the open is not known yet (the gateway reconciles it)',
      schema: errorExample(new OpenOutcomeUnknownError()),
    }),
  );

const bodyExamples = {
  defaults: { summary: 'Defaults (3600 s)', value: {} },
  oneHour: { summary: 'One hour', value: { sessionDuration: 3600, directPayment: false, failover: false } },
};

@ApiTags('sessions')
@Authenticated()
@RateLimited()
@Controller('api/v1/session')
export class SessionController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionService,
  ) {}

  @Post('modelsession')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Open a session for a model and bind it to your API key',
    description:
      'User tokens act on your default API key. Same model while a session is active: that session is returned (`reused`). Another target replaces it.',
  })
  @ApiQuery({
    name: 'model_id',
    required: true,
    description: 'A model blockchain id (0x + 64 hex) or a model name (1–64 characters)',
    example: EXAMPLE_MODEL_ID,
  })
  @ApiBody({ type: ModelSessionBodyDto, examples: bodyExamples })
  @CreateAnswers()
  @ApiNotFoundResponse({ description: 'Unknown or deleted model', schema: errorExample(new ModelNotFoundError()) })
  async createForModel(@CurrentPrincipal() principal: Principal, @RawInput() raw: RawRequestInput) {
    const { query, body } = validateRequest(raw, ModelSessionQueryDto, ModelSessionBodyDto, (_, b, issues) =>
      durationIssues(b.sessionDuration, this.config, DURATION_LOC, issues),
    );
    const outcome = await this.sessions.createForModel(principal, {
      model: query.model_id,
      sessionDuration: sessionDurationOf(body.sessionDuration, this.config, DURATION_LOC),
      directPayment: body.directPayment ?? false,
      failover: body.failover ?? false,
    });
    return presentCreated(outcome);
  }

  @Post('bidsession')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Open a session for one specific bid and bind it to your API key',
    description: "The node's bid route takes only sessionDuration: directPayment/failover must be absent or false.",
  })
  @ApiQuery({ name: 'bid_id', required: true, description: 'A bid blockchain id (0x + 64 hex)', example: EXAMPLE_BID_ID })
  @ApiBody({
    type: BidSessionBodyDto,
    examples: { defaults: bodyExamples.defaults, oneHour: { summary: 'One hour', value: { sessionDuration: 3600 } } },
  })
  @CreateAnswers()
  @ApiNotFoundResponse({ description: 'Unknown or deleted bid', schema: errorExample(new UnknownBidError()) })
  async createForBid(@CurrentPrincipal() principal: Principal, @RawInput() raw: RawRequestInput) {
    const { query, body } = validateRequest(raw, BidSessionQueryDto, BidSessionBodyDto, (_, b, issues) =>
      durationIssues(b.sessionDuration, this.config, DURATION_LOC, issues),
    );
    const outcome = await this.sessions.createForBid(principal, {
      bidId: query.bid_id.toLowerCase(),
      sessionDuration: sessionDurationOf(body.sessionDuration, this.config, DURATION_LOC),
    });
    return presentCreated(outcome);
  }

  @Get()
  @ApiOperation({ summary: 'The session your key should use now', description: 'Needs no proxy-router.' })
  @ApiOkResponse({ type: CurrentSessionDto })
  @ApiNotFoundResponse({ schema: errorExample(new NoActiveSessionError()) })
  @ApiConflictResponse({ description: 'No API key yet (user tokens)', schema: errorExample(new NoApiKeyError()) })
  async current(@CurrentPrincipal() principal: Principal): Promise<CurrentSessionDto> {
    return presentCurrent(await this.sessions.current(principal));
  }

  @Post('pingsession')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Probe your session with a one-token chat completion',
    description: 'alive, dead (closed), expired, timeout or busy (both left open), or no_session.',
  })
  @ApiOkResponse({ type: PingResponseDto })
  @ApiConflictResponse({
    description: 'The session is still opening, or no API key yet',
    schema: errorExample(new SessionOpeningError()),
  })
  @NodeFailures()
  async ping(@CurrentPrincipal() principal: Principal): Promise<PingResponseDto> {
    return presentPing(await this.sessions.ping(principal));
  }

  @Post('closesession')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close your session on chain and in the gateway' })
  @ApiOkResponse({ type: CloseResponseDto })
  @ApiConflictResponse({ description: 'The session is still opening, or no API key yet', schema: errorExample(new NoApiKeyError()) })
  @NodeFailures()
  async close(@CurrentPrincipal() principal: Principal): Promise<CloseResponseDto> {
    return presentClosed(await this.sessions.close(principal));
  }
}
