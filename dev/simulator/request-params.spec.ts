import { parseHexId, parseModelsPage, parseOpenByBidBody, parseOpenByModelBody, parsePage, parseUserQuery } from './request-params';
import { SimError } from './sim-error';

const query = (text: string) => new URLSearchParams(text);

function rejection(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof SimError && error.status === 400) return error.message;
    throw error;
  }
  throw new Error('expected a 400');
}

describe('request parameters', () => {
  it('pages with the node defaults (offset 0, limit 10, asc)', () => {
    expect(parsePage(query(''))).toEqual({ offset: 0, limit: 10, order: 'asc' });
    expect(parsePage(query('offset=20&limit=255&order=desc'))).toEqual({ offset: 20, limit: 255, order: 'desc' });
  });

  it('lists every model when /blockchain/models gets no limit', () => {
    expect(parseModelsPage(query(''))).toBeNull();
    expect(parseModelsPage(query('limit=0&offset=5'))).toBeNull();
    expect(parseModelsPage(query('limit=10&offset=10'))).toEqual({ offset: 10, limit: 10, order: 'asc' });
  });

  it('answers bad paging with 400s in the node wording', () => {
    expect(rejection(() => parsePage(query('limit=abc')))).toContain('invalid syntax');
    expect(rejection(() => parsePage(query('limit=256')))).toContain('value out of range');
    expect(rejection(() => parsePage(query('offset=x')))).toContain('cannot unmarshal');
    expect(rejection(() => parsePage(query('order=sideways')))).toContain("'oneof' tag");
  });

  it('takes hex ids in any case and returns them lower-case', () => {
    expect(parseHexId(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`);
    expect(rejection(() => parseHexId('0x1234'))).toContain("'hex32' tag");
  });

  it('requires a user address for the user sessions', () => {
    expect(rejection(() => parseUserQuery(query('')))).toContain("'required' tag");
    expect(rejection(() => parseUserQuery(query('user=bob')))).toContain("'eth_addr' tag");
  });

  it('parses the open bodies, sessionDuration of any size', () => {
    expect(parseOpenByModelBody('{"sessionDuration":3600,"directPayment":true}')).toEqual({
      duration: 3600n,
      directPayment: true,
      failover: false,
    });
    expect(parseOpenByBidBody('{"sessionDuration":"99999999999999999999"}').duration).toBe(99999999999999999999n);
  });

  it('refuses bad open bodies with 400', () => {
    expect(rejection(() => parseOpenByBidBody(''))).toBe('EOF');
    expect(rejection(() => parseOpenByBidBody('{oops'))).toContain('invalid character');
    expect(rejection(() => parseOpenByBidBody('[]'))).toContain('cannot unmarshal array');
    expect(rejection(() => parseOpenByBidBody('{}'))).toContain("'required' tag");
    expect(rejection(() => parseOpenByBidBody('{"sessionDuration":3.5}'))).toContain('cannot unmarshal');
    expect(rejection(() => parseOpenByModelBody('{"sessionDuration":60,"failover":"yes"}'))).toContain('of type bool');
  });
});
