import { ArgumentsHost } from '@nestjs/common';
import { loadAppConfig } from '@app/common';
import { ApiExceptionFilter } from './api-exception.filter';

/** What the filter answers for an error, with Express's request and response replaced at their boundary. */
function answer(filter: ApiExceptionFilter, exception: unknown): { status: number; code: string } {
  let status = 0;
  let body: { error: { code: string } } | undefined;
  const response = {
    headersSent: false,
    status(value: number) {
      status = value;
      return this;
    },
    json(value: { error: { code: string } }) {
      body = value;
      return this;
    },
  };
  const request = { id: 'req-1', method: 'POST', originalUrl: '/api/jobs' };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return { status, code: body!.error.code };
}

function socketError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe(ApiExceptionFilter.name, () => {
  const onPostgres = new ApiExceptionFilter(loadAppConfig({ DATABASE_URL: 'postgres://rh@db:5433/runnerhub' }));
  const onSqlite = new ApiExceptionFilter(loadAppConfig({}));

  beforeAll(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));

  it('answers 503 DATABASE_UNAVAILABLE when PostgreSQL resets a connection under a query or TypeORM lost it', () => {
    const reset = socketError('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read', errno: -104 });
    expect(answer(onPostgres, reset)).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    const released = new Error('Query runner already released. Cannot run queries anymore.');
    released.name = 'QueryRunnerAlreadyReleasedError';
    expect(answer(onPostgres, released)).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    const refused = socketError('connect ECONNREFUSED 127.0.0.1:5433', { code: 'ECONNREFUSED', port: 5433 });
    expect(answer(onPostgres, refused)).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  });

  it('leaves other failures a 500, and a reset with no PostgreSQL configured is no database error', () => {
    const reset = socketError('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read' });
    expect(answer(onSqlite, reset)).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
    expect(answer(onPostgres, new TypeError('x is undefined'))).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
    const otherPort = socketError('connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED', port: 9 });
    expect(answer(onPostgres, otherPort)).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
  });
});
