import { buildAuditEntry } from './audit-entry.builder';
import { AUDITED_ROUTE, AuditedRequest, AuditedRoute } from './audited-request';

const AT = new Date('2030-01-01T12:00:00.000Z');

function request(overrides: Partial<AuditedRequest> = {}, route?: AuditedRoute): AuditedRequest {
  return {
    method: 'POST',
    path: '/api/containers/c1/exec',
    originalUrl: '/api/containers/c1/exec?wait=true',
    body: {},
    id: 'request-1',
    ...overrides,
    ...(route ? { [AUDITED_ROUTE]: route } : {}),
  } as unknown as AuditedRequest;
}

const EXEC_ROUTE: AuditedRoute = {
  action: 'container.exec',
  bodyFields: ['command', 'user', 'env', 'token'],
  routePath: '/api/containers/:id/exec',
  target: 'c1',
};

describe(buildAuditEntry.name, () => {
  it('records a successful call by a key with its action, target and the named body fields only', () => {
    const entry = buildAuditEntry(
      request(
        { body: { command: ['uname', '-a'], user: 'runner', env: ['RUNNER_TOKEN=s3cret'], token: 's3cret', other: 1 } },
        EXEC_ROUTE,
      ),
      { status: 200, body: { success: true, data: { exitCode: 0 } } },
      { name: 'admin-1a2b3c4d', role: 'admin' },
      AT,
    );
    expect(entry).toEqual({
      at: AT,
      actor: 'admin-1a2b3c4d',
      role: 'admin',
      action: 'container.exec',
      method: 'POST',
      path: '/api/containers/c1/exec?wait=true',
      target: 'c1',
      outcome: 'success',
      status: 200,
      errorCode: null,
      details: { command: ['uname', '-a'], user: 'runner' },
      requestId: 'request-1',
    });
    expect(JSON.stringify(entry)).not.toContain('s3cret');
  });

  it('records a refused call without a key as anonymous, with the error code the caller received', () => {
    const entry = buildAuditEntry(
      request({}, EXEC_ROUTE),
      { status: 401, body: { success: false, error: { code: 'UNAUTHORIZED', message: 'x', details: {} } } },
      undefined,
    );
    expect(entry).toMatchObject({ actor: 'anonymous', role: null, outcome: 'failure', errorCode: 'UNAUTHORIZED' });
  });

  it('names the action after the route, or the path when no route was reached', () => {
    const unnamed = { ...EXEC_ROUTE, action: undefined };
    expect(buildAuditEntry(request({}, unnamed), { status: 404, body: undefined }, undefined).action).toBe(
      'POST /api/containers/:id/exec',
    );
    const nowhere = buildAuditEntry(
      request({ method: 'delete', path: '/api/nothing' }),
      { status: 404, body: null },
      undefined,
    );
    expect(nowhere).toMatchObject({ action: 'DELETE /api/nothing', method: 'DELETE', target: null, details: {} });
  });

  it('targets a create at the id it answered with, since it has no :id yet', () => {
    const create: AuditedRoute = {
      action: 'container.create',
      bodyFields: [],
      routePath: '/api/containers',
      target: null,
    };
    const created = buildAuditEntry(
      request({}, create),
      { status: 201, body: { success: true, data: { id: 'new' } } },
      undefined,
    );
    expect(created.target).toBe('new');
    const failed = buildAuditEntry(
      request({}, create),
      { status: 400, body: { success: false, data: { id: 'x' } } },
      undefined,
    );
    expect(failed.target).toBeNull();
  });

  it('keeps the row small: long values are clipped and a large kept field is replaced by a note', () => {
    const entry = buildAuditEntry(
      request(
        { originalUrl: `/api/${'x'.repeat(5000)}`, id: 'r'.repeat(500), body: { command: ['y'.repeat(5000)] } },
        { ...EXEC_ROUTE, target: 't'.repeat(500) },
      ),
      { status: 200, body: undefined },
      undefined,
    );
    expect(entry.path).toHaveLength(512);
    expect(entry.target).toHaveLength(128);
    expect(entry.requestId).toHaveLength(128);
    expect(entry.details).toEqual({ command: '[omitted: 5004 characters of JSON]' });
  });

  it('keeps nothing of a body that is not an object', () => {
    expect(
      buildAuditEntry(request({ body: ['command'] }, EXEC_ROUTE), { status: 400, body: null }, undefined).details,
    ).toEqual({});
    expect(
      buildAuditEntry(request({ body: undefined }, EXEC_ROUTE), { status: 400, body: null }, undefined).details,
    ).toEqual({});
  });
});
