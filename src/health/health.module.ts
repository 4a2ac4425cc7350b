import { Global, Module, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { Readiness } from './readiness';

@Global()
@Module({ controllers: [HealthController, MetricsController], providers: [Readiness], exports: [Readiness] })
export class HealthModule implements OnModuleInit {
  constructor(
    private readonly readiness: Readiness,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.readiness.register({
      name: 'database',
      critical: true,
      check: async () => {
        await this.dataSource.query('SELECT 1');
        return { status: 'up' };
      },
    });
  }
}
