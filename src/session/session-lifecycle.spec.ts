import { allowedFrom, HELD, LIVE, Mover, SESSION_STATUSES, SessionStatus, TRANSITIONS, USABLE } from './session-lifecycle';

const MOVERS: Mover[] = ['claim', 'settle', 'expire', 'ping', 'close', 'sweep'];

/** Every move the table allows, as "from → to by who". */
function moves(): string[] {
  const all: string[] = [];
  for (const from of SESSION_STATUSES) {
    for (const [to, by] of Object.entries(TRANSITIONS[from])) for (const who of by ?? []) all.push(`${from} → ${to} by ${who}`);
  }
  return all.sort();
}

describe('session lifecycle', () => {
  it('lists exactly these moves', () => {
    expect(moves()).toEqual(
      [
        'opening → active by settle',
        'opening → failed by settle',
        'active → replacing by claim',
        'active → closing by ping',
        'active → closed by close',
        'active → closed by sweep',
        'active → expired by expire',
        'replacing → active by claim',
        'replacing → active by settle',
        'replacing → closing by settle',
        'replacing → closing by ping',
        'replacing → closed by close',
        'replacing → closed by sweep',
        'replacing → expired by expire',
        'closing → closed by close',
        'closing → closed by sweep',
        'expired → expired by close',
        'expired → expired by sweep',
      ].sort(),
    );
  });

  it('ends in closed, failed and (once closed on chain) expired', () => {
    expect(TRANSITIONS.closed).toEqual({});
    expect(TRANSITIONS.failed).toEqual({});
    expect(Object.keys(TRANSITIONS.expired)).toEqual(['expired']);
  });

  it('moves an intent only by settling it', () => {
    for (const by of MOVERS.filter((m) => m !== 'settle')) {
      for (const to of SESSION_STATUSES) expect(() => allowedFrom(to, by, ['opening'])).toThrow('refused session move');
    }
  });

  it('answers the statuses a mover may move from', () => {
    expect(allowedFrom('closed', 'close')).toEqual(['active', 'replacing', 'closing']);
    expect(allowedFrom('active', 'settle')).toEqual(['opening', 'replacing']);
    expect(allowedFrom('expired', 'expire', USABLE)).toEqual(['active', 'replacing']);
  });

  it('refuses a move the table does not list, and a narrowing with a status it does not allow', () => {
    expect(() => allowedFrom('active', 'sweep')).toThrow('refused session move * → active by sweep');
    expect(() => allowedFrom('opening', 'claim')).toThrow('refused session move');
    expect(() => allowedFrom('closed', 'close', ['closing', 'failed'])).toThrow('refused session move closing|failed → closed by close');
    const terminal: SessionStatus[] = ['closed', 'failed'];
    for (const by of MOVERS) for (const to of SESSION_STATUSES) expect(() => allowedFrom(to, by, terminal)).toThrow();
  });

  it('names its sets: live is what the unique index holds, held adds the session being replaced', () => {
    expect(LIVE).toEqual(['opening', 'active']);
    expect(USABLE).toEqual(['active', 'replacing']);
    expect([...HELD].sort()).toEqual(['active', 'opening', 'replacing']);
  });
});
