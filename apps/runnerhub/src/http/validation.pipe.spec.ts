import { DomainError, ErrorCode } from '@app/common';
import { ArgumentMetadata, Type } from '@nestjs/common';
import fc from 'fast-check';
import { CreateContainerDto } from './containers/dto/create-container.dto';
import { ExecInContainerDto } from './containers/dto/exec-in-container.dto';
import { ListContainersQueryDto } from './containers/dto/list-containers-query.dto';
import { StopContainerDto } from './containers/dto/stop-container.dto';
import { createValidationPipe } from './validation.pipe';

/**
 * Properties of the request DTOs as the real pipe applies them: what is valid passes untouched, and whatever is
 * wrong is refused as VALIDATION_FAILED naming the exact field, never thrown as anything else.
 */
const pipe = createValidationPipe();
// Reproducible in CI; FC_SEED explores other corners locally.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261129) });
// Names every object inherits (valueOf, toString...): class-validator's whitelist and class-transformer treat them
// as known, so they are kept out of generated keys here and recorded as a limitation rather than pretended away.
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));
const LIMIT_RANGES = {
  cpuShares: [2, 262_144],
  cpuQuota: [1_000, 102_400_000],
  memoryMB: [6, 4_194_304],
  diskGB: [1, 1_000_000],
  pidsLimit: [16, 4_194_304],
} as const;

async function validate(metatype: Type<unknown>, value: unknown, type: ArgumentMetadata['type'] = 'body') {
  try {
    return { ok: true as const, value: (await pipe.transform(value, { type, metatype })) as unknown };
  } catch (error) {
    if (!DomainError.is(error, ErrorCode.ValidationFailed)) throw error;
    return { ok: false as const, fields: (error.details.problems as Array<{ field: string }>).map((p) => p.field) };
  }
}

const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,30}$/);
const validLimits = fc.record(
  {
    cpuShares: fc.integer({ min: 2, max: 262_144 }),
    cpuQuota: fc.integer({ min: 1_000, max: 102_400_000 }),
    memoryMB: fc.integer({ min: 6, max: 4_194_304 }),
    diskGB: fc.integer({ min: 1, max: 1_000_000 }),
    pidsLimit: fc.integer({ min: 16, max: 4_194_304 }),
  },
  { requiredKeys: [] },
);
const validCreate = fc.record(
  {
    runnerId: fc.string({ minLength: 1, maxLength: 128 }),
    jobId: fc.string({ minLength: 1, maxLength: 128 }),
    repository: fc.string({ minLength: 1, maxLength: 256 }),
    config: fc.record(
      {
        image: fc.string({ minLength: 1, maxLength: 512 }),
        env: fc.dictionary(envName, fc.string({ maxLength: 200 }), { maxKeys: 20 }),
        labels: fc.dictionary(
          fc.string({ minLength: 1, maxLength: 50 }).filter((k) => !INHERITED.has(k)),
          fc.string({ maxLength: 100 }),
          { maxKeys: 10 },
        ),
        command: fc.array(fc.string({ maxLength: 100 }), { minLength: 1, maxLength: 20 }),
        workingDir: fc.string({ maxLength: 100 }).map((p) => `/${p}`),
      },
      { requiredKeys: ['image'] },
    ),
    limits: validLimits,
    start: fc.boolean(),
  },
  { requiredKeys: ['config'] },
);

describe('request DTO validation (property-based)', () => {
  it('accepts every well-formed create request and keeps its values', async () => {
    await fc.assert(
      fc.asyncProperty(validCreate, async (body) => {
        const result = await validate(CreateContainerDto, body);
        expect(result.ok).toBe(true);
        expect(JSON.parse(JSON.stringify(result.ok && result.value))).toEqual(JSON.parse(JSON.stringify(body)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any unknown field, naming it', async () => {
    const known = ['runnerId', 'jobId', 'repository', 'config', 'limits', 'security', 'start'];
    const unknown = fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !known.includes(k) && !INHERITED.has(k));
    await fc.assert(
      fc.asyncProperty(validCreate, unknown, fc.jsonValue(), async (body, key, value) => {
        const result = await validate(CreateContainerDto, { ...body, [key]: value });
        expect(result).toEqual({ ok: false, fields: expect.arrayContaining([key]) });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses every out-of-range or non-integer limit, naming limits.<field>', async () => {
    const field = fc.constantFrom(...(Object.keys(LIMIT_RANGES) as Array<keyof typeof LIMIT_RANGES>));
    // null is not here: for an optional field it means "not set", as JSON clients send it.
    const badFor = (name: keyof typeof LIMIT_RANGES) =>
      fc.oneof(
        fc.integer({ max: LIMIT_RANGES[name][0] - 1 }),
        fc.integer({ min: LIMIT_RANGES[name][1] + 1 }),
        fc.double({ noInteger: true, noNaN: true }),
        fc.string(),
        fc.boolean(),
      );
    const badLimit = field.chain((name) => badFor(name).map((value) => [name, value] as const));
    await fc.assert(
      fc.asyncProperty(validCreate, badLimit, async (body, [name, value]) => {
        const result = await validate(CreateContainerDto, { ...body, limits: { ...body.limits, [name]: value } });
        expect(result).toEqual({ ok: false, fields: expect.arrayContaining([`limits.${name}`]) });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any non-string image or env value, naming the nested field', async () => {
    const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object());
    await fc.assert(
      fc.asyncProperty(validCreate, notAString, async (body, value) => {
        const result = await validate(CreateContainerDto, { ...body, config: { ...body.config, image: value } });
        expect(result).toEqual({ ok: false, fields: expect.arrayContaining(['config.image']) });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses anything but a JSON object as the body, without throwing anything but a validation failure', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.anything()), async (value) => {
        const result = await validate(CreateContainerDto, value);
        if (result.ok) expect(typeof value).toBe('object');
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a stop timeout exactly when it is an integer from 0 to 3600', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: -10_000, max: 10_000 }), fc.double()), async (timeout) => {
        const result = await validate(StopContainerDto, { timeout });
        const expected = Number.isInteger(timeout) && timeout >= 0 && timeout <= 3600;
        expect(result.ok).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts an exec command only as a non-empty array of strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(fc.string({ maxLength: 50 }), { maxLength: 300 }), fc.anything()),
        async (command) => {
          const result = await validate(ExecInContainerDto, { command });
          const expected =
            Array.isArray(command) &&
            command.length >= 1 &&
            command.length <= 256 &&
            command.every((a) => typeof a === 'string');
          expect(result.ok).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts list paging exactly within its bounds, from query strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -10, max: 100_000 }),
        async (limit, offset) => {
          const result = await validate(
            ListContainersQueryDto,
            { limit: String(limit), offset: String(offset) },
            'query',
          );
          expect(result.ok).toBe(limit >= 1 && limit <= 500 && offset >= 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
