import { loadAppConfig } from '@app/common';
import { EventStreamSlots, SlotClaim } from './event-stream-slots';

function granted(claim: SlotClaim): () => void {
  if (!claim.granted) throw new Error(`refused at the ${claim.cap} cap`);
  return claim.release;
}

describe(EventStreamSlots.name, () => {
  const sut = () => new EventStreamSlots(loadAppConfig({ SSE_MAX_PER_KEY: '2', SSE_MAX: '3' }));

  it('gives a key SSE_MAX_PER_KEY streams, and another key its own', () => {
    const slots = sut();
    granted(slots.claim('viewer-a'));
    granted(slots.claim('viewer-a'));
    expect(slots.claim('viewer-a')).toEqual({ granted: false, cap: 'per-key', limit: 2 });
    granted(slots.claim('viewer-b'));
    expect(slots.open).toBe(3);
    expect(slots.openFor('viewer-a')).toBe(2);
  });

  it('holds SSE_MAX in all, whichever keys ask', () => {
    const slots = sut();
    granted(slots.claim('a'));
    granted(slots.claim('b'));
    granted(slots.claim('c'));
    expect(slots.claim('d')).toEqual({ granted: false, cap: 'total', limit: 3 });
  });

  it('frees a slot on release, once however often released', () => {
    const slots = sut();
    const release = granted(slots.claim('viewer-a'));
    granted(slots.claim('viewer-a'));
    release();
    release();
    expect(slots.openFor('viewer-a')).toBe(1);
    expect(slots.open).toBe(1);
    granted(slots.claim('viewer-a'));
    expect(slots.claim('viewer-a')).toMatchObject({ granted: false, cap: 'per-key' });
  });
});
