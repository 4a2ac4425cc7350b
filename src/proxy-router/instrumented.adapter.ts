import type { Histogram } from 'prom-client';
import { NodeAdapter } from './node.adapter';

type Method = Exclude<keyof NodeAdapter, 'circuitState'>;

const OPERATIONS: Method[] = [
  'listModels',
  'listBids',
  'ratedBids',
  'getBid',
  'openSessionByModel',
  'openSessionByBid',
  'closeSession',
  'getSession',
  'walletAddress',
  'walletSessions',
  'ping',
  'health',
  'balance',
  'sessionsBudget',
  'tokenSupply',
  'stakesOnHold',
  'withdrawStakes',
];

/** The error's stable code (docs/API.md §1: upstream_timeout, node_error, …) or "error": never a message. */
function outcomeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? code : 'error';
}

/**
 * Times every proxy-router call by operation and outcome, around whichever adapter is
 * configured: the adapter itself stays free of metrics.
 */
export function instrumentAdapter(adapter: NodeAdapter, calls: Histogram<'operation' | 'outcome'>): NodeAdapter {
  const wrapped = Object.create(adapter) as NodeAdapter;
  for (const operation of OPERATIONS) {
    const original = adapter[operation].bind(adapter) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(wrapped, operation, {
      value: async (...args: unknown[]) => {
        const stop = calls.startTimer({ operation });
        try {
          const result = await original(...args);
          stop({ outcome: operation === 'ping' ? `ping_${(result as { kind: string }).kind}` : 'ok' });
          return result;
        } catch (error) {
          stop({ outcome: outcomeOf(error) });
          throw error;
        }
      },
    });
  }
  return wrapped;
}
