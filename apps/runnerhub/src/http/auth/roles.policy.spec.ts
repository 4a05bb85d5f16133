import { ForbiddenException } from '@nestjs/common';
import { Role, ROLES } from './auth.decorators';
import { assertRole, roleAtLeast } from './roles.policy';

describe('roles', () => {
  it('are ordered viewer < operator < admin, each including the ones below', () => {
    const table = ROLES.map((role) => ROLES.map((needed) => roleAtLeast(role, needed)));
    expect(table).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });

  it('assertRole lets a role at or above through', () => {
    for (const role of ['operator', 'admin'] as Role[]) {
      expect(() => assertRole({ name: `${role}-00000000`, role }, 'operator')).not.toThrow();
    }
  });

  it('assertRole refuses a role below with 403, naming the role needed, the caller and what was refused', () => {
    const refuse = () =>
      assertRole({ name: 'operator-1a2b3c4d', role: 'operator' }, 'admin', 'remove a running container with force');
    expect(refuse).toThrow(ForbiddenException);
    expect(refuse).toThrow(
      'The admin role is needed to remove a running container with force; ' +
        'this API key (operator-1a2b3c4d) has the operator role',
    );
  });
});
