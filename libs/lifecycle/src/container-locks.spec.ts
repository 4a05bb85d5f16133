import { ContainerLocks } from './container-locks';

/** Lets every promise callback queued so far run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A unit of work that ends only when told to, and says whether it has begun. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const state = { begun: false };
  const work = async () => {
    state.begun = true;
    await opened;
  };
  return { work, open, state };
}

describe('ContainerLocks', () => {
  it('runs a batch only after the work already queued on any of its containers, and queues later work behind it', async () => {
    const locks = new ContainerLocks();
    const single = gate();
    const batch = gate();
    const after = gate();
    const first = locks.run('a', single.work);
    const both = locks.runAll(['a', 'b'], batch.work);
    const later = locks.run('b', after.work);
    await settle();
    expect([single.state.begun, batch.state.begun, after.state.begun]).toEqual([true, false, false]);

    single.open();
    await first;
    await settle();
    expect([batch.state.begun, after.state.begun]).toEqual([true, false]);

    batch.open();
    await both;
    await settle();
    expect(after.state.begun).toBe(true);
    after.open();
    await later;
    await settle();
    expect(locks.busy).toBe(0);
  });

  it('lets work on other containers run alongside a batch', async () => {
    const locks = new ContainerLocks();
    const batch = gate();
    const other = gate();
    const both = locks.runAll(['a', 'b'], batch.work);
    const elsewhere = locks.run('c', other.work);
    await settle();
    expect([batch.state.begun, other.state.begun]).toEqual([true, true]);
    batch.open();
    other.open();
    await Promise.all([both, elsewhere]);
  });
});
