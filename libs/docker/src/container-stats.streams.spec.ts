import { Logger } from '@nestjs/common';
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import streamFalse from './__fixtures__/stats-v1-stream-false.json';
import { ContainerStatsStreams } from './container-stats.streams';

/** A client whose stats streams the test writes into, and whose aborts it can see. */
function fakeClient() {
  const streams = new Map<string, { body: PassThrough; signal: AbortSignal }>();
  const client = {
    getContainer: (id: string) => ({
      stats: ({ abortSignal }: { abortSignal: AbortSignal }) => {
        const body = new PassThrough();
        streams.set(id, { body, signal: abortSignal });
        return Promise.resolve(body);
      },
    }),
  } as unknown as Dockerode;
  return { client, streams };
}

/** Lets the stream's open() and its data handlers run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ContainerStatsStreams', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('keeps the latest frame of a followed container, and drops it when told the container stopped', async () => {
    const { client, streams } = fakeClient();
    const stats = new ContainerStatsStreams(client);
    stats.follow('abc');
    await settle();
    expect(stats.latest('abc')).toBeNull();

    streams.get('abc')!.body.write(`${JSON.stringify(streamFalse)}\n`);
    await settle();
    expect(stats.latest('abc')).toMatchObject({ memoryLimit: 64 * 1024 * 1024, sampledAt: new Date(streamFalse.read) });

    stats.unfollow('abc');
    expect(streams.get('abc')!.signal.aborted).toBe(true);
    expect(stats.latest('abc')).toBeNull();
    expect(stats.followed).toBe(0);
  });

  it('keeps a stream opened after the caller listed the running containers, which that list cannot name', async () => {
    const { client, streams } = fakeClient();
    const stats = new ContainerStatsStreams(client);
    stats.follow('listed');
    stats.follow('stopped');
    const listedAt = Date.now() + 1;
    jest.spyOn(Date, 'now').mockReturnValue(listedAt);
    try {
      stats.follow('started-since');
      await settle();
      stats.retainOnly(new Set(['listed']), listedAt);
    } finally {
      jest.restoreAllMocks();
    }
    expect(streams.get('stopped')!.signal.aborted).toBe(true);
    expect(streams.get('listed')!.signal.aborted).toBe(false);
    expect(streams.get('started-since')!.signal.aborted).toBe(false);
    expect(stats.followed).toBe(2);
  });
});
