import { CleanupModule } from '@app/cleanup';
import { Module } from '@nestjs/common';
import { CleanupController } from './cleanup.controller';

/** /api/cleanup: the cleanup policies, previewed or run now. */
@Module({
  imports: [CleanupModule],
  controllers: [CleanupController],
})
export class CleanupApiModule {}
