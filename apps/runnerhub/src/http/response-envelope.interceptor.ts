import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { map, Observable } from 'rxjs';

const RAW_RESPONSE = 'runnerhub:raw-response';

/** Opts a route out of the envelope: health probes, metrics and event streams keep their own formats. */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

/** A page of a list, returned by list handlers; the envelope puts the items in `data` and the rest in `page`. */
export class Paged<T> {
  constructor(
    readonly items: T[],
    readonly page: { limit: number; offset: number; total: number },
  ) {}
}

/** Wraps every successful result as `{ success: true, data }` (lists also get `page`). */
@Injectable()
export class ResponseEnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()]);
    if (raw || context.getType() !== 'http') return next.handle();
    return next
      .handle()
      .pipe(
        map((result: unknown) =>
          result instanceof Paged
            ? { success: true, data: result.items, page: result.page }
            : { success: true, data: result ?? null },
        ),
      );
  }
}
