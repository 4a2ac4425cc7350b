import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { errorExample, validationExample } from '../common/openapi';
import { LimitedBy } from '../common/rate-limits';
import { ApiKeyService } from './api-key.service';
import { presentApiKey, presentCreatedApiKey } from './api-key.presenter';
import { Authenticated, CurrentPrincipal } from './decorators';
import {
  ApiKeyResponseDto,
  CreateApiKeyRequestDto,
  CreatedApiKeyResponseDto,
  MeResponseDto,
  RevokedApiKeyResponseDto,
} from './dto/api-key.dto';
import { ApiKeyLimitError, ApiKeyNotFoundError, ApiKeyRevokedError } from './errors';
import { Principal } from './principal';
import { UserService } from './user.service';

const keyIdParam = ApiParam({ name: 'id', format: 'uuid', description: 'The key id (from the listing)' });
const notFound = ApiNotFoundResponse({ description: 'No such key of yours', schema: errorExample(new ApiKeyNotFoundError()) });

@ApiTags('auth')
@Authenticated({ userTokenOnly: true })
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly users: UserService,
    private readonly keys: ApiKeyService,
  ) {}

  @Get('me')
  @ApiOperation({ summary: 'The calling user' })
  @ApiOkResponse({ type: MeResponseDto })
  async me(@CurrentPrincipal() principal: Principal): Promise<MeResponseDto> {
    const user = await this.users.findById(principal.userId);
    return {
      id: user.id,
      email: user.email,
      issuer: user.issuer,
      subject: user.subject,
      created_at: user.createdAt.toISOString(),
    };
  }

  @Post('keys')
  // The answer holds the whole key: no cache (browser, proxy) may keep it (docs/API.md §3).
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Create an API key',
    description: "The whole key appears in this answer only. A user's first key becomes the default.",
  })
  @ApiBody({ type: CreateApiKeyRequestDto, required: false, examples: { named: { value: { name: 'ci-bot' } }, unnamed: { value: {} } } })
  @ApiCreatedResponse({ type: CreatedApiKeyResponseDto })
  @LimitedBy(
    'key-creations',
    'More than KEY_CREATE_LIMIT_PER_HOUR creations by the user (revoked keys count). `Retry-After` says when to retry.',
  )
  @ApiConflictResponse({
    description: 'Too many active keys',
    schema: errorExample(new ApiKeyLimitError(20)),
  })
  @ApiUnprocessableEntityResponse({
    schema: validationExample(['body', 'name'], 'string_too_long', 'String should have at most 64 characters'),
  })
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyRequestDto): Promise<CreatedApiKeyResponseDto> {
    const { apiKey, key } = await this.keys.create(principal.userId, body.name);
    return presentCreatedApiKey(apiKey, key);
  }

  @Get('keys')
  @ApiOperation({ summary: 'List your API keys (revoked ones included, newest first)' })
  @ApiOkResponse({ type: ApiKeyResponseDto, isArray: true })
  async list(@CurrentPrincipal() principal: Principal): Promise<ApiKeyResponseDto[]> {
    return (await this.keys.list(principal.userId)).map(presentApiKey);
  }

  @Put('keys/:id/default')
  @ApiOperation({ summary: 'Make a key your default (used by session routes called with a user token)' })
  @keyIdParam
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @notFound
  @ApiConflictResponse({ description: 'The key is revoked', schema: errorExample(new ApiKeyRevokedError()) })
  async setDefault(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<ApiKeyResponseDto> {
    return presentApiKey(await this.keys.setDefault(principal.userId, id));
  }

  @Delete('keys/:id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke a key',
    description: 'The key stops working at once; its live session is closed on chain in the background.',
  })
  @keyIdParam
  @ApiOkResponse({ type: RevokedApiKeyResponseDto })
  @notFound
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<RevokedApiKeyResponseDto> {
    const key = await this.keys.revoke(principal.userId, id);
    return { id: key.id, revoked: true };
  }
}
