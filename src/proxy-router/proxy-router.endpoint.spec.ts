import { endpointFrom } from './proxy-router.endpoint';
import { Redaction } from './redaction';

describe('proxy-router endpoint', () => {
  it('builds basic auth from the configured credentials and keeps a path prefix', () => {
    const endpoint = endpointFrom({ url: 'https://node.internal:8082/proxy', username: 'admin', password: 's3cret-pw' });
    expect(endpoint.origin).toBe('https://node.internal:8082');
    expect(endpoint.basePath).toBe('/proxy');
    expect(endpoint.authorization).toBe(`Basic ${Buffer.from('admin:s3cret-pw').toString('base64')}`);
  });

  it('falls back to credentials in the URL, and has none when none are given', () => {
    expect(endpointFrom({ url: 'http://u:p%40ss@127.0.0.1:1' }).authorization).toBe(`Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    expect(endpointFrom({ url: 'http://127.0.0.1:1' }).authorization).toBeUndefined();
  });

  it('lists what a log line must never hold, and the redaction scrubs it', () => {
    const endpoint = endpointFrom({ url: 'https://node.internal:8082', username: 'admin', password: 's3cret-pw' });
    const redaction = new Redaction(endpoint.secrets);
    const text = `dial https://node.internal:8082 with s3cret-pw, ${endpoint.authorization} / basic YWJj`;
    const scrubbed = redaction.scrub(text);
    expect(scrubbed).not.toMatch(/node\.internal|s3cret-pw|basic /i);
  });
});
