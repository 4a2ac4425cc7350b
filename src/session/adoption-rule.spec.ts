import { couldHaveCreated, judgeAdoption, SEND_SKEW_S } from './adoption-rule';
import { aRow, anOnChainSession } from './session-builders.spec-support';

const SENT_S = 1_800_000_000;
const sentAt = new Date(SENT_S * 1000);

describe('adoption rule (rule 6)', () => {
  // The wallet, newest first: what the open made, then what was there before it was sent.
  const older = anOnChainSession({ openedAt: SENT_S - 2 });
  const olderClosed = anOnChainSession({ openedAt: SENT_S - 3, closedAt: BigInt(SENT_S - 1) });
  const made = anOnChainSession({ openedAt: SENT_S + 1 });
  const intent = aRow({ status: 'opening', openSentAt: sentAt, walletNewestBeforeSend: older.id });

  it('adopts the one session above the proof, never those that were in the wallet before the send', () => {
    const listing = [made, older, olderClosed];
    expect(couldHaveCreated(intent, listing)).toEqual([made]);
    expect(judgeAdoption(intent, listing, new Set(), [intent])).toEqual({ kind: 'adopt', session: made });
  });

  it('finds nothing while the open has not landed: the unowned, recent, open session from before is not it', () => {
    expect(judgeAdoption(intent, [older, olderClosed], new Set(), [intent])).toEqual({ kind: 'none' });
  });

  it('takes everything read as newer when the proof is older than the listing, or the wallet was empty', () => {
    expect(couldHaveCreated(intent, [made])).toEqual([made]);
    const fromEmpty = aRow({ status: 'opening', openSentAt: sentAt, walletNewestBeforeSend: null });
    expect(couldHaveCreated(fromEmpty, [made, older])).toEqual([made, older]);
  });

  it('keeps only open sessions of its model or bid, opened no earlier than a few seconds before the send', () => {
    const otherModel = anOnChainSession({ openedAt: SENT_S + 1, modelId: '0xmodel-z' });
    const closed = anOnChainSession({ openedAt: SENT_S + 1, closedAt: BigInt(SENT_S + 2) });
    const early = anOnChainSession({ openedAt: SENT_S - SEND_SKEW_S - 1 });
    const edge = anOnChainSession({ openedAt: SENT_S - SEND_SKEW_S });
    const listing = [otherModel, closed, edge, early, older];
    expect(couldHaveCreated(intent, listing)).toEqual([edge]);
    const bidIntent = aRow({ status: 'opening', kind: 'bid', bidId: '0xbid-z', openSentAt: sentAt, walletNewestBeforeSend: older.id });
    const onBid = anOnChainSession({ openedAt: SENT_S + 1, bidId: '0xbid-z' });
    expect(couldHaveCreated(bidIntent, [onBid, made, older])).toEqual([onBid]);
  });

  it('never adopts for an intent that was never sent', () => {
    const unsent = aRow({ status: 'opening', openSentAt: null });
    expect(judgeAdoption(unsent, [made], new Set(), [unsent])).toEqual({ kind: 'none' });
  });

  it('skips a session another row owns', () => {
    expect(judgeAdoption(intent, [made, older], new Set([made.id]), [intent])).toEqual({ kind: 'none' });
  });

  it('adopts nothing when two sessions fit', () => {
    const twin = anOnChainSession({ openedAt: SENT_S + 1 });
    expect(judgeAdoption(intent, [twin, made, older], new Set(), [intent])).toEqual({ kind: 'ambiguous' });
  });

  it('adopts nothing while another unsettled intent could own the one candidate', () => {
    const rival = aRow({ status: 'opening', apiKeyId: 'key-2', openSentAt: sentAt, walletNewestBeforeSend: older.id });
    expect(judgeAdoption(intent, [made, older], new Set(), [intent, rival])).toEqual({ kind: 'ambiguous' });
  });

  it('adopts when the other intent could not have made it: sent after it was there, or settled, or for another model', () => {
    const later = aRow({ status: 'opening', openSentAt: new Date((SENT_S + 2) * 1000), walletNewestBeforeSend: made.id });
    const settled = aRow({ status: 'failed', openSentAt: sentAt, walletNewestBeforeSend: older.id });
    const elsewhere = aRow({ status: 'opening', modelId: '0xmodel-z', openSentAt: sentAt, walletNewestBeforeSend: older.id });
    expect(judgeAdoption(intent, [made, older], new Set(), [intent, later, settled, elsewhere])).toEqual({ kind: 'adopt', session: made });
  });
});
