import { parseAuthorization } from './principal';

describe('parseAuthorization', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';

  it.each([
    ['Bearer sk-AbCd1234.secret', { kind: 'api-key', token: 'sk-AbCd1234.secret' }],
    ['sk-AbCd1234.secret', { kind: 'api-key', token: 'sk-AbCd1234.secret' }],
    ['bearer sk-AbCd1234.secret', { kind: 'api-key', token: 'sk-AbCd1234.secret' }],
    [`Bearer ${jwt}`, { kind: 'jwt', token: jwt }],
    ['Bearer 8xLOxBtZp8', { kind: 'opaque', token: '8xLOxBtZp8' }],
  ])('reads %s', (header, expected) => {
    expect(parseAuthorization(header)).toEqual(expected);
  });

  it.each([undefined, '', 'Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'token-without-scheme', 'sk-has space'])(
    'finds no credential in %p',
    (header) => {
      expect(parseAuthorization(header)).toBeUndefined();
    },
  );
});
