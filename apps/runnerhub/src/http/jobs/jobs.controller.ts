import { ContainerOrchestrator } from '@app/orchestration';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { Actor, Audited, CurrentActor, RequireRole } from '../auth/auth.decorators';
import { UuidParamPipe } from '../uuid-param.pipe';
import { CreateJobDto } from './dto/create-job.dto';
import { JobDto } from './dto/job.dto';
import { ListJobsQueryDto } from './dto/list-jobs-query.dto';
import { toJobDto } from './job.mapper';
import { envelope, Envelope, PagedEnvelope, pagedEnvelope } from '../response-envelope';

const JobIdPipe = new UuidParamPipe('Job');

/** The job queue: each job gets an ephemeral runner container when a slot is free (MAX_CONCURRENT_CONTAINERS). */
@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(private readonly orchestrator: ContainerOrchestrator) {}

  @Post()
  @RequireRole('operator')
  @Audited('job.create', { bodyFields: ['repository', 'labels', 'image'] })
  @ApiOperation({
    summary: 'Queue a job for an ephemeral runner',
    description:
      'The job waits in the queue (state `queued`) until fewer than MAX_CONCURRENT_CONTAINERS runners are live; ' +
      'then a runner is registered with GitHub and its container started. A repository outside ' +
      'REPOSITORIES_ALLOWED or an image outside RUNNER_IMAGES_ALLOWED (403 NOT_PERMITTED, `details.field` and ' +
      '`details.setting` say which), labels this RunnerHub does not serve (422 LABELS_NOT_SERVED) and missing ' +
      'GitHub credentials (422 GITHUB_NOT_CONFIGURED) are refused up front, before anything is stored.',
  })
  @ApiEnvelope(JobDto, { status: 201, description: 'Queued' })
  @ApiFailures(400, 403, 422, 429)
  async createJob(@Body() body: CreateJobDto, @CurrentActor() actor: Actor): Promise<Envelope<JobDto>> {
    const job = await this.orchestrator.submitJob(
      { repository: body.repository, labels: body.labels ?? [], image: body.image },
      actor.name,
    );
    return envelope(toJobDto(job));
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List jobs, most recently queued first, with filters and paging' })
  @ApiEnvelope(JobDto, { list: true })
  @ApiFailures(400)
  async listJobs(@Query() query: ListJobsQueryDto): Promise<PagedEnvelope<JobDto>> {
    const { state, repository, limit = 50, offset = 0 } = query;
    const { items, total } = await this.orchestrator.listJobs({ state, repository }, { limit, offset });
    return pagedEnvelope(items.map(toJobDto), { limit, offset, total });
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One job: its state, runner, container and why it failed' })
  @ApiEnvelope(JobDto)
  @ApiFailures(404)
  async getJob(@Param('id', JobIdPipe) id: string): Promise<Envelope<JobDto>> {
    return envelope(toJobDto(await this.orchestrator.getJob(id)));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireRole('operator')
  @Audited('job.cancel')
  @ApiOperation({
    summary: 'Cancel a job that has not finished; its runner container is stopped and its runner withdrawn',
    description: 'A finished job answers 409 ILLEGAL_TRANSITION naming its state.',
  })
  @ApiEnvelope(JobDto)
  @ApiFailures(403, 404, 409, 429)
  async cancelJob(@Param('id', JobIdPipe) id: string, @CurrentActor() actor: Actor): Promise<Envelope<JobDto>> {
    return envelope(toJobDto(await this.orchestrator.cancelJob(id, actor.name)));
  }
}
