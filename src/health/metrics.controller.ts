import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/decorators';
import { AuthenticationFailedError } from '../auth/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Prometheus text at /metrics: open, or `Bearer <METRICS_TOKEN>` when that is set. Served
 * by the health room beside /health: every room records into metrics, so metrics itself
 * can depend on none of them (auth among them).
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly expected?: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.expected = config.metricsToken ? digest(`Bearer ${config.metricsToken}`) : undefined;
  }

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    // Digests have equal lengths, so the comparison is constant-time whatever was sent.
    if (this.expected && !timingSafeEqual(this.expected, digest(authorization ?? ''))) {
      throw new AuthenticationFailedError('invalid_token', 'A valid metrics token is required');
    }
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}
