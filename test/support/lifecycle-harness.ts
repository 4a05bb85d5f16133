import { AppConfigModule, ContainerTransitionPayload, loadAppConfig } from '@app/common';
import { ContainerLifecycleManager, ContainerLocks, ContainerReconciler, LifecycleModule } from '@app/lifecycle';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { TestDatabase } from './databases';
import { waitFor } from './wait-for';

export interface RecordedEvent {
  name: string;
  payload: ContainerTransitionPayload;
}

/**
 * The lifecycle library as the service wires it (real engine, real database, real event emitter), without HTTP.
 * A "restart" is a new harness over the same database.
 */
export class LifecycleHarness {
  readonly events: RecordedEvent[] = [];

  private constructor(readonly moduleRef: TestingModule) {
    moduleRef.get(EventEmitter2).onAny((name, payload) => {
      this.events.push({ name: String(name), payload: payload as ContainerTransitionPayload });
    });
  }

  static async start(database: TestDatabase, env: Record<string, string> = {}): Promise<LifecycleHarness> {
    const config = loadAppConfig({ NODE_ENV: 'test', ...database.env, ...env });
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppConfigModule.forRoot(config),
        EventEmitterModule.forRoot({ wildcard: true, delimiter: ':' }),
        LifecycleModule,
      ],
    }).compile();
    const harness = new LifecycleHarness(moduleRef);
    await moduleRef.init();
    return harness;
  }

  get manager(): ContainerLifecycleManager {
    return this.moduleRef.get(ContainerLifecycleManager);
  }

  get reconciler(): ContainerReconciler {
    return this.moduleRef.get(ContainerReconciler);
  }

  /** Resolves once no lifecycle operation or reconciliation is in flight on any container. */
  settled(): Promise<true> {
    const locks = this.moduleRef.get(ContainerLocks);
    return waitFor(() => locks.busy === 0, {
      description: 'lifecycle work in flight to finish',
      timeoutMs: 15_000,
      intervalMs: 20,
    });
  }

  eventsFor(containerId: string): string[] {
    return this.events.filter((e) => e.payload.containerId === containerId).map((e) => e.name);
  }

  close(): Promise<void> {
    return this.moduleRef.close();
  }
}
