import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module';
import { AuditRecorder } from './audit-recorder.service';
import { AuditResponseHook } from './audit-response.hook';
import { AuditRouteGuard } from './audit-route.guard';
import { AuditController } from './audit.controller';

/**
 * The audit trail: one row per mutating API call made with a valid key, whatever its outcome, and a summary row a
 * minute of the refused calls without one (AnonymousRefusals), and `GET /api/audit` to read it. Import it
 * before AuthModule: Nest runs global guards in the order their modules are first imported, and the route-noting
 * guard must run before any guard that can refuse.
 */
@Module({
  imports: [PersistenceModule, AuthModule],
  controllers: [AuditController],
  providers: [AuditRecorder, AuditResponseHook, { provide: APP_GUARD, useClass: AuditRouteGuard }],
})
export class AuditModule {}
