import { applyDecorators, Controller, Get, Param } from '@nestjs/common';
import { RateLimited } from '../rate-limit/rate-limited';
import {
  ApiBadGatewayResponse,
  ApiConflictResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../auth/decorators';
import { errorExample } from '../common/openapi';
import {
  AmbiguousModelNameError,
  ModelNotFoundError,
  ProviderNotConfiguredError,
  ProviderTimeoutError,
  ProviderUpstreamError,
} from '../proxy-router/errors';
import { BidListResponseDto, ModelListResponseDto } from './dto/models.dto';
import { ModelCatalog } from './model-catalog';
import { presentBids, presentModels } from './models.presenter';

/** The answers every route that asks the proxy-router can give. */
const ProxyRouterFailures = () =>
  applyDecorators(
    ApiBadGatewayResponse({
      description: 'The proxy-router answered with an error',
      schema: errorExample(new ProviderUpstreamError()),
    }),
    ApiServiceUnavailableResponse({
      description: 'The proxy-router is not configured, unreachable, or its circuit is open after repeated connection failures',
      schema: errorExample(new ProviderNotConfiguredError()),
    }),
    ApiGatewayTimeoutResponse({ description: 'The proxy-router did not answer in time', schema: errorExample(new ProviderTimeoutError()) }),
  );

@ApiTags('models')
@Authenticated()
@RateLimited()
@Controller('api/v1/models')
export class ModelsController {
  constructor(private readonly catalog: ModelCatalog) {}

  @Get()
  @ApiOperation({
    summary: "List the marketplace's live models",
    description: 'Deleted models are left out. Read from the proxy-router (all pages) and cached for MODELS_CACHE_TTL_S seconds.',
  })
  @ApiOkResponse({ type: ModelListResponseDto })
  @ProxyRouterFailures()
  async list(): Promise<ModelListResponseDto> {
    return presentModels(await this.catalog.list());
  }

  @Get(':model/bids')
  @ApiOperation({ summary: "List a model's live bids", description: 'Deleted bids are left out.' })
  @ApiParam({
    name: 'model',
    description: 'A blockchain id (`0x` + 64 hex digits, any case) or an exact model name (URL-encoded)',
    examples: {
      id: { value: '0x6a4813e866a48da528c533e706344ea853a1d3f21e37b4c8e7ffd5ff25779018' },
      name: { value: 'llama-3.3-70b' },
    },
  })
  @ApiOkResponse({ type: BidListResponseDto })
  @ApiNotFoundResponse({ description: 'No live model with that id or name', schema: errorExample(new ModelNotFoundError()) })
  @ApiConflictResponse({
    description: 'Several live models have that name',
    schema: errorExample(new AmbiguousModelNameError()),
  })
  @ProxyRouterFailures()
  async bids(@Param('model') model: string): Promise<BidListResponseDto> {
    const resolved = await this.catalog.resolve(model);
    return presentBids(await this.catalog.liveBids(resolved.id));
  }
}
