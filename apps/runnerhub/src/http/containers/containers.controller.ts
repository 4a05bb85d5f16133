import { AppConfig, ContainerState } from '@app/common';
import { ApiContainerCreator, ContainerLifecycleManager } from '@app/lifecycle';
import { LatestUsageStore, UsageSampler } from '@app/monitoring';
import type { ContainerRecordEntity } from '@app/persistence';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { Actor, Audited, CurrentActor, RequireRole } from '../auth/auth.decorators';
import { assertRole } from '../auth/roles.policy';
import { ContainerIdPipe } from './container-id.pipe';
import {
  toContainerDto,
  toContainerLogsDto,
  toContainerTransitionDto,
  toExecResultDto,
  toResourceUsageDto,
} from './container.mapper';
import { ContainerUsageService } from './container-usage.service';
import { ContainerDto } from './dto/container.dto';
import { ContainerLogsQueryDto } from './dto/container-logs-query.dto';
import { ContainerLogsDto } from './dto/container-logs.dto';
import { ContainerTransitionDto } from './dto/container-transition.dto';
import { CreateContainerDto } from './dto/create-container.dto';
import { ExecInContainerDto } from './dto/exec-in-container.dto';
import { ExecResultDto } from './dto/exec-result.dto';
import { ListContainersQueryDto } from './dto/list-containers-query.dto';
import { RemoveContainerDto, RemoveContainerQueryDto } from './dto/remove-container.dto';
import { ResourceUsageDto } from './dto/resource-usage.dto';
import { StopContainerDto } from './dto/stop-container.dto';
import { UsageSummaryDto } from './dto/usage-summary.dto';
import { envelope, Envelope, PagedEnvelope, pagedEnvelope } from '../response-envelope';

const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

/**
 * Runner containers. Thin on purpose: each handler validates (DTOs and the pipe), calls the lifecycle manager once
 * or the usage service, and maps the result; the rules live in libs/lifecycle. Handler names are the operation ids.
 */
@ApiTags('containers')
@Controller('containers')
export class ContainersController {
  constructor(
    private readonly manager: ContainerLifecycleManager,
    private readonly creator: ApiContainerCreator,
    private readonly usage: ContainerUsageService,
    private readonly latest: LatestUsageStore,
    private readonly sampler: UsageSampler,
    private readonly config: AppConfig,
  ) {}

  /** A record as the API shows it, with what monitoring knows of it. */
  private present(record: ContainerRecordEntity): ContainerDto {
    return toContainerDto(record, this.latest.get(record.id));
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List containers, newest first, with filters and paging' })
  @ApiEnvelope(ContainerDto, { list: true })
  @ApiFailures(400)
  async listContainers(@Query() query: ListContainersQueryDto): Promise<PagedEnvelope<ContainerDto>> {
    const { state, repository, jobId, runnerId, limit = 50, offset = 0 } = query;
    const { items, total } = await this.manager.list({ state, repository, jobId, runnerId }, { limit, offset });
    return pagedEnvelope(
      items.map((record) => this.present(record)),
      { limit, offset, total },
    );
  }

  @Post()
  @RequireRole('operator')
  @Audited('container.create', { bodyFields: ['runnerId', 'jobId', 'repository', 'start'] })
  @ApiOperation({
    summary: 'Create a runner container and (unless start is false) start it',
    description:
      'The locked-down security profile applies; limits are checked against the configured ceilings, and those ' +
      'left out take the configured defaults (DEFAULT_MEMORY_MB, DEFAULT_CPUS, DEFAULT_PIDS). The container takes ' +
      'one of MAX_CONCURRENT_CONTAINERS (429 CAPACITY_EXHAUSTED when none is free). A loosening the configuration ' +
      'does not allow is 403 NOT_PERMITTED; a runnerId or jobId naming a runner or job RunnerHub manages is 409. A ' +
      'failure on the engine (a missing image: 422) leaves the record in `error` with the reason.',
  })
  @ApiEnvelope(ContainerDto, { status: 201, description: 'Created (and started unless start was false)' })
  @ApiFailures(400, 403, 409, 422, 429, 502, 504)
  async createContainer(
    @Body() body: CreateContainerDto,
    @CurrentActor() actor: Actor,
  ): Promise<Envelope<ContainerDto>> {
    const { config, limits, security } = body;
    const record = await this.creator.create(
      {
        runnerId: body.runnerId ?? null,
        jobId: body.jobId ?? null,
        config: { ...config, repository: body.repository },
        limits: { ...limits },
        security: { ...security },
        start: body.start !== false,
        placement: { engine: body.placement?.engine, labels: body.placement?.labels },
      },
      actor.name,
    );
    return envelope(this.present(record));
  }

  // Declared before `:id`, so that `usage` is never taken for a container id.
  @Get('usage/summary')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'Resource usage of every running container from its latest sample, with totals',
    description:
      'Answered from the samples monitoring keeps in memory (each running container streams one a second from its ' +
      "start), never by asking the engine: each row gives its sample's `sampledAt` and `ageMs`, and `stale` once " +
      'that is older than `staleAfterMs` (two sampling intervals). A container too new to have a sample is listed ' +
      'with `resourceUsage: null` and `awaitingFirstSample: true`, and still counted in totalContainers.',
  })
  @ApiEnvelope(UsageSummaryDto)
  @ApiFailures()
  async getUsageSummary(): Promise<Envelope<UsageSummaryDto>> {
    return envelope(await this.usage.summary());
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One container: state, limits, security profile and latest resource usage' })
  @ApiEnvelope(ContainerDto)
  @ApiFailures(404)
  async getContainer(@Param('id', ContainerIdPipe) id: string): Promise<Envelope<ContainerDto>> {
    return envelope(this.present(await this.manager.get(id)));
  }

  @Post(':id/start')
  @HttpCode(200)
  @RequireRole('operator')
  @Audited('container.start')
  @ApiOperation({ summary: 'Start a created or stopped container (a running one is left as it is)' })
  @ApiEnvelope(ContainerDto)
  @ApiFailures(403, 404, 409, 429, 502)
  async startContainer(
    @Param('id', ContainerIdPipe) id: string,
    @CurrentActor() actor: Actor,
  ): Promise<Envelope<ContainerDto>> {
    return envelope(this.present(await this.manager.start(id, actor.name)));
  }

  @Post(':id/stop')
  @HttpCode(200)
  @RequireRole('operator')
  @Audited('container.stop', { bodyFields: ['timeout'] })
  @ApiOperation({
    summary: 'Stop a running container: SIGTERM, then SIGKILL after the timeout (a stopped one is left)',
  })
  @ApiBody({ type: StopContainerDto, required: false })
  @ApiEnvelope(ContainerDto)
  @ApiFailures(400, 403, 404, 409, 429, 502, 504)
  async stopContainer(
    @Param('id', ContainerIdPipe) id: string,
    @Body() body: StopContainerDto,
    @CurrentActor() actor: Actor,
  ): Promise<Envelope<ContainerDto>> {
    return envelope(
      this.present(await this.manager.stop(id, body.timeout ?? DEFAULT_STOP_TIMEOUT_SECONDS, actor.name)),
    );
  }

  @Delete(':id')
  @RequireRole('operator')
  @Audited('container.remove', { bodyFields: ['force'] })
  @ApiOperation({
    summary: 'Remove a container from the engine and close its record',
    description:
      'A running container is refused (409) unless `force` is true, in the body or as `?force=true`; forced ' +
      'removal needs the admin role. Removing a removed container answers it as it is.',
  })
  @ApiBody({ type: RemoveContainerDto, required: false })
  @ApiEnvelope(ContainerDto)
  @ApiFailures(400, 403, 404, 409, 429, 502)
  async removeContainer(
    @Param('id', ContainerIdPipe) id: string,
    @Query() query: RemoveContainerQueryDto,
    @Body() body: RemoveContainerDto,
    @CurrentActor() actor: Actor,
  ): Promise<Envelope<ContainerDto>> {
    const force = body.force === true || query.force === true;
    if (force) assertRole(actor, 'admin', 'remove a container with force');
    return envelope(this.present(await this.manager.remove(id, { force }, actor.name, 'removal requested')));
  }

  @Post(':id/exec')
  @HttpCode(200)
  @RequireRole('admin')
  @Audited('container.exec', { bodyFields: ['command', 'user', 'workingDir'] })
  @ApiOperation({
    summary: 'Run a command in a running container and wait for its exit code and output',
    description:
      'The command is an argument vector, never handed to a shell. A command that is not found exits 126 or ' +
      '127, as with `docker exec`; one that outlives `timeoutMs` is killed and answered with 504.',
  })
  @ApiEnvelope(ExecResultDto)
  @ApiFailures(400, 403, 404, 409, 429, 502, 504)
  async execInContainer(
    @Param('id', ContainerIdPipe) id: string,
    @Body() body: ExecInContainerDto,
    @Req() request: Request,
  ): Promise<Envelope<ExecResultDto>> {
    // The engine keeps an exec running after its own connection closes, so a client's hang-up has to be passed
    // down explicitly, or its command runs on for up to timeoutMs with this handler waiting for it.
    const hangUp = watchForHangUp(request);
    try {
      const result = await this.manager.exec(
        id,
        {
          command: body.command,
          user: body.user,
          workingDir: body.workingDir,
          env: body.env,
          timeoutMs: body.timeoutMs,
        },
        hangUp.signal,
      );
      return envelope(toExecResultDto(result));
    } finally {
      hangUp.release();
    }
  }

  @Get(':id/stats')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'The latest resource sample of a running container (409 unless it runs)',
    description:
      "Monitoring's latest sample while it is younger than two sampling intervals, else one taken now (which " +
      'then becomes the latest).',
  })
  @ApiEnvelope(ResourceUsageDto)
  @ApiFailures(404, 409, 502, 504)
  async getContainerStats(@Param('id', ContainerIdPipe) id: string): Promise<Envelope<ResourceUsageDto>> {
    const record = await this.manager.get(id);
    const latest = record.state === ContainerState.Running ? this.latest.get(id)?.usage : undefined;
    const fresh = latest && Date.now() - latest.sampledAt.getTime() < 2 * this.config.monitoring.statsIntervalMs;
    return envelope(toResourceUsageDto(fresh ? latest : await this.sampler.sampleOne(record)));
  }

  @Get(':id/logs')
  @RequireRole('viewer')
  @ApiOperation({
    summary: "The last lines of a container's output, stdout and stderr told apart",
    description:
      'At most LOGS_MAX_BYTES (1 MiB by default) of output: the newest of the `tail` lines that fit, with ' +
      '`truncated: true` when older ones (or the start of a longer line) were left out.',
  })
  @ApiEnvelope(ContainerLogsDto)
  @ApiFailures(400, 404, 409, 502)
  async getContainerLogs(
    @Param('id', ContainerIdPipe) id: string,
    @Query() query: ContainerLogsQueryDto,
  ): Promise<Envelope<ContainerLogsDto>> {
    // No hang-up watch here, unlike exec: the logs are one read (follow: false) that ends by itself within the
    // engine call's deadline, and cutting it short would only report a healthy engine call as failed.
    const result = await this.manager.logs(id, {
      tail: query.tail ?? 100,
      timestamps: query.timestamps ?? false,
      maxBytes: this.config.streams.logsMaxBytes,
    });
    return envelope(toContainerLogsDto(result));
  }

  @Get(':id/events')
  @RequireRole('viewer')
  @ApiOperation({ summary: "The container's transition history, oldest first" })
  @ApiEnvelope(ContainerTransitionDto, { isArray: true })
  @ApiFailures(404)
  async listContainerEvents(@Param('id', ContainerIdPipe) id: string): Promise<Envelope<ContainerTransitionDto[]>> {
    return envelope((await this.manager.history(id)).map(toContainerTransitionDto));
  }
}

/**
 * A signal that aborts when the client hangs up before its answer was sent, and a release() that stops watching.
 * It watches the response, not the request: since Node 16 a request's 'close' fires once its body has been read,
 * while the client is still waiting. The abort reason is what the engine rethrows; nobody receives it, but the audit
 * row records it (499 being the usual "client closed the request" status).
 */
function watchForHangUp(request: Request): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const response = request.res!;
  const onClose = () => {
    if (response.writableFinished) return;
    controller.abort(
      new ApiHttpError(499, HttpErrorCode.MalformedRequest, 'The client closed the connection before the answer'),
    );
  };
  // The client may have gone while guards, pipes or the database ran: 'close' would not fire again.
  if (response.destroyed) onClose();
  else response.once('close', onClose);
  return { signal: controller.signal, release: () => response.off('close', onClose) };
}
