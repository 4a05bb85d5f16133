import { CleanupService } from '@app/cleanup';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { Audited, RequireRole } from '../auth/auth.decorators';
import { toCleanupActionDto, toCleanupReportDto } from './cleanup.mapper';
import { CleanupActionDto, CleanupReportDto } from './dto/cleanup-action.dto';
import { envelope, Envelope } from '../response-envelope';

/** The cleanup policies: what they would remove now, and removing it now. DELETE /api/containers/:id removes one. */
@ApiTags('cleanup')
@Controller('cleanup')
export class CleanupController {
  constructor(private readonly cleanup: CleanupService) {}

  @Get('preview')
  @RequireRole('operator')
  @ApiOperation({ summary: 'What a cleanup scan would remove now, and why (nothing is changed)' })
  @ApiEnvelope(CleanupActionDto, { isArray: true })
  @ApiFailures()
  async previewCleanup(): Promise<Envelope<CleanupActionDto[]>> {
    return envelope((await this.cleanup.preview()).map(toCleanupActionDto));
  }

  @Post('run')
  @HttpCode(200)
  @RequireRole('operator')
  @Audited('cleanup.run')
  @ApiOperation({
    summary: 'Run a cleanup scan now and report what it removed',
    description:
      'Removals go through the lifecycle like any other (events, history, audit), with the reason ' +
      '`cleanup:<policy>`. A scan already under way in this process is waited for and reported instead.',
  })
  @ApiEnvelope(CleanupReportDto)
  @ApiFailures(403, 429)
  async runCleanup(): Promise<Envelope<CleanupReportDto>> {
    return envelope(toCleanupReportDto(await this.cleanup.run('manual')));
  }
}
