import { firstDataPayload, isBackendBusy, pingFailure, pingFromBody, pingFromEvent } from './ping-outcome';

describe('ping outcome', () => {
  it('finds the first complete data line, across chunk boundaries and CRLF', () => {
    expect(firstDataPayload('data: {"a"')).toBeUndefined();
    expect(firstDataPayload(': comment\n\ndata: {"a":1}\n')).toBe('{"a":1}');
    expect(firstDataPayload('event: x\r\ndata:[DONE]\r\n')).toBe('[DONE]');
  });

  it('takes any chunk but an error as alive', () => {
    expect(pingFromEvent('{"choices":[{"delta":{"content":"Hi"}}]}')).toEqual({ kind: 'alive' });
    expect(pingFromEvent('[DONE]')).toEqual({ kind: 'alive' });
    expect(pingFromBody('{"choices":[{"message":{"content":"Hi"}}]}')).toEqual({ kind: 'alive' });
  });

  it('reads error events and error answers', () => {
    expect(pingFromEvent('{"error":"provider error: model backend returned 502"}')).toEqual({
      kind: 'dead',
      reason: 'the provider failed while answering',
    });
    expect(pingFromEvent('{"error":{"message":"session expired"}}')).toEqual({ kind: 'expired' });
    expect(pingFailure('session expired', 500)).toEqual({ kind: 'expired' });
    expect(pingFailure('session not found', 500)).toEqual({ kind: 'dead', reason: 'session not found' });
    expect(pingFailure('provider error: http://10.1.2.3:8080 refused', 502)).toEqual({
      kind: 'dead',
      reason: 'the node or the provider failed (HTTP 502)',
    });
  });

  it("reads the backend's passed-through 429/503 as busy, and nothing else", () => {
    const passedThrough = (status: number) =>
      JSON.stringify({ providerModelError: { error: { message: 'slow down' } }, statusCode: status });
    expect(isBackendBusy(429, passedThrough(429))).toBe(true);
    expect(isBackendBusy(503, passedThrough(503))).toBe(true);
    expect(isBackendBusy(400, passedThrough(400))).toBe(false); // the backend refused the request itself
    expect(isBackendBusy(500, passedThrough(500))).toBe(false);
    expect(isBackendBusy(503, '{"error":"service unavailable"}')).toBe(false); // not the backend's answer
    expect(isBackendBusy(429, '<html>Too Many Requests</html>')).toBe(false);
    expect(isBackendBusy(429, '{"providerModelError":"text"}')).toBe(false);
  });
});
