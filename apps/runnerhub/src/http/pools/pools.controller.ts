import { DomainError, ErrorCode } from '@app/common';
import { PoolStatus, RunnerPoolStatus } from '@app/orchestration';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { RequireRole } from '../auth/auth.decorators';
import { PoolDto } from './dto/pool.dto';
import { envelope, Envelope } from '../response-envelope';

/** The warm pools RUNNER_POOLS defines, with their runners and how often they served a job. For viewers. */
@ApiTags('pools')
@Controller('pools')
export class PoolsController {
  constructor(private readonly status: RunnerPoolStatus) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List the warm pools: size, idle runners ready and warming, hits and misses' })
  @ApiEnvelope(PoolDto, { isArray: true })
  async listPools(): Promise<Envelope<PoolDto[]>> {
    return envelope((await this.status.list()).map(toPoolDto));
  }

  @Get(':name')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One warm pool: size, idle runners ready and warming, hits and misses' })
  @ApiEnvelope(PoolDto)
  @ApiFailures(404)
  async getPool(@Param('name') name: string): Promise<Envelope<PoolDto>> {
    const pool = await this.status.get(name);
    if (!pool) {
      throw new DomainError(ErrorCode.NotFound, `No warm pool is named "${name}": GET /api/pools lists them`, {
        pool: name,
      });
    }
    return envelope(toPoolDto(pool));
  }
}

function toPoolDto(pool: PoolStatus): PoolDto {
  return { ...pool, labels: [...pool.labels], runners: { ...pool.runners } };
}
