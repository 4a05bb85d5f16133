import { DomainError, ENGINE_DEFINITION_FIELDS, ErrorCode } from '@app/common';
import { EngineCatalog, FleetOverview } from '@app/fleet';
import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiHttpError } from '../api-http.error';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { Actor, Audited, CurrentActor, RequireRole } from '../auth/auth.decorators';
import { CreateEngineDto } from './dto/create-engine.dto';
import { EngineDto } from './dto/engine.dto';
import { UpdateEngineDto } from './dto/update-engine.dto';
import { toEngineDto } from './engine.mapper';
import { envelope, Envelope } from '../response-envelope';

/**
 * The Docker engines of the fleet (libs/fleet): configured ones (DOCKER_ENGINES, or DOCKER_HOST as `default`) and
 * those added here. Reading is for viewers; adding, changing and draining engines is for admins.
 */
@ApiTags('engines')
@Controller('engines')
export class EnginesController {
  constructor(
    private readonly catalog: EngineCatalog,
    private readonly overview: FleetOverview,
  ) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List the engines: state, capacity and what sits on each now' })
  @ApiEnvelope(EngineDto, { isArray: true })
  async listEngines(): Promise<Envelope<EngineDto[]>> {
    return envelope((await this.overview.list()).map(toEngineDto));
  }

  @Get(':name')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One engine: state and why, when it last answered, capacity and load' })
  @ApiEnvelope(EngineDto)
  @ApiFailures(404)
  async getEngine(@Param('name') name: string): Promise<Envelope<EngineDto>> {
    return envelope(toEngineDto(await this.overview.get(name)));
  }

  @Post()
  @RequireRole('admin')
  @Audited('engine.add', { bodyFields: [...ENGINE_DEFINITION_FIELDS, 'force'] })
  @ApiOperation({
    summary: 'Add a Docker engine to the fleet',
    description:
      'The fields and rules of one DOCKER_ENGINES element (400 VALIDATION_FAILED names each field at fault). The ' +
      'engine is pinged first: one that does not answer is refused with 422 ENGINE_UNAVAILABLE, saying what was ' +
      'tried, and nothing is written, unless `force` is true. A name already in the fleet is 409 CONFLICT. Every ' +
      'replica connects to the new engine within ENGINE_PROBE_INTERVAL_MS.',
  })
  @ApiEnvelope(EngineDto, { status: 201, description: 'Added' })
  @ApiFailures(400, 403, 409, 422, 429)
  async addEngine(@Body() body: CreateEngineDto, @CurrentActor() actor: Actor): Promise<Envelope<EngineDto>> {
    const { force, ...definition } = body;
    try {
      const engine = await this.catalog.add(definition, actor.name, { force });
      return envelope(toEngineDto(await this.overview.status(engine)));
    } catch (error) {
      // The engine named in the request does not answer: the request is at fault, not RunnerHub (422, not 503).
      if (DomainError.is(error, ErrorCode.EngineUnavailable)) {
        throw new ApiHttpError(422, error.code, error.message, error.details);
      }
      throw error;
    }
  }

  @Patch(':name')
  @RequireRole('admin')
  @Audited('engine.update', { bodyFields: ['labels', 'memoryMb', 'cpus', 'maxContainers', 'state'] })
  @ApiOperation({
    summary: "Change an engine's labels or capacity, or undrain it (state: active)",
    description:
      'Labels and capacity of an engine added through the API; a configured engine (source `config`) answers 409 ' +
      'CONFLICT: change DOCKER_ENGINES instead. `state: active` undrains a draining or drained engine (409 ' +
      'ILLEGAL_TRANSITION for an unreachable one, which becomes active by itself when it answers).',
  })
  @ApiEnvelope(EngineDto)
  @ApiFailures(400, 403, 404, 409, 429)
  async updateEngine(
    @Param('name') name: string,
    @Body() body: UpdateEngineDto,
    @CurrentActor() actor: Actor,
  ): Promise<Envelope<EngineDto>> {
    return envelope(toEngineDto(await this.overview.status(await this.catalog.update(name, body, actor.name))));
  }

  @Post(':name/drain')
  @HttpCode(200)
  @RequireRole('admin')
  @Audited('engine.drain')
  @ApiOperation({
    summary: 'Drain an engine: nothing new is placed on it, what runs there finishes, then it is `drained`',
    description:
      'Draining a draining or drained engine changes nothing; an unreachable one answers 409 ILLEGAL_TRANSITION. ' +
      'Undrain with PATCH state: active.',
  })
  @ApiEnvelope(EngineDto)
  @ApiFailures(403, 404, 409, 429)
  async drainEngine(@Param('name') name: string, @CurrentActor() actor: Actor): Promise<Envelope<EngineDto>> {
    return envelope(toEngineDto(await this.overview.status(await this.catalog.drain(name, actor.name))));
  }
}
