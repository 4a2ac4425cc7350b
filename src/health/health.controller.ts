import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/decorators';
import { Readiness } from './readiness';

const readinessExample = {
  status: 'ok',
  components: { database: { status: 'up' }, proxy_router: { status: 'not_configured' } },
};

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database and the proxy-router (when configured) are reachable' })
  @ApiOkResponse({ schema: { example: readinessExample } })
  @ApiServiceUnavailableResponse({ schema: { example: { status: 'unavailable', components: { database: { status: 'down' } } } } })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const { ready, components } = await this.readiness.report();
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'unavailable', components };
  }
}
