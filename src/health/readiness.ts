import { Injectable } from '@nestjs/common';

export type ComponentStatus = 'up' | 'down' | 'not_configured';

export interface ComponentHealth {
  status: ComponentStatus;
  detail?: string;
}

export interface ReadinessCheck {
  name: string;
  /** A non-critical component (NATS) is listed but cannot make the gateway unready. */
  critical: boolean;
  check(): Promise<ComponentHealth>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Modules register the checks of what they depend on; `/health/ready` runs them all. */
@Injectable()
export class Readiness {
  private readonly checks: ReadinessCheck[] = [];

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  async report(): Promise<{ ready: boolean; components: Record<string, ComponentHealth> }> {
    const results = await Promise.all(this.checks.map((c) => withTimeout(c)));
    const components: Record<string, ComponentHealth> = {};
    let ready = true;
    this.checks.forEach((check, i) => {
      components[check.name] = results[i];
      if (check.critical && results[i].status === 'down') ready = false;
    });
    return { ready, components };
  }
}

async function withTimeout(check: ReadinessCheck): Promise<ComponentHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentHealth>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'down', detail: 'timed out' }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.check().catch((): ComponentHealth => ({ status: 'down', detail: 'check failed' })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
