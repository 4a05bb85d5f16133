import { EngineRegistry } from '@app/docker';
import { Injectable } from '@nestjs/common';

/**
 * Whether an engine answers, asked before an operation writes anything, so that an engine that is away fails the
 * operation fast with ENGINE_UNAVAILABLE and leaves every record as it was.
 *
 * An engine whose event stream is connected needs no ping: that stream is a connection the engine itself holds open
 * (ContainerReconciler follows every engine), and it drops the moment the engine goes away, so a ping would only
 * repeat what it already says, at the price of one more round trip before every create, start, stop and removal.
 * While the stream is down (the engine is away, or it is not followed in this process) every operation pings first.
 * An engine that hangs with the stream still open is caught by the operation's own deadline instead, which leaves
 * its record in the transitional state for the reconciler, as any engine that stops answering half-way does.
 */
@Injectable()
export class EngineAvailability {
  constructor(private readonly engines: EngineRegistry) {}

  /** Resolves when the named engine answers; ENGINE_UNAVAILABLE (or NOT_FOUND for an unknown name) otherwise. */
  async require(engineName: string): Promise<void> {
    const { events, engine } = this.engines.get(engineName);
    if (events.status === 'connected') return;
    await engine.ping();
  }
}
