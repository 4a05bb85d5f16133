import { DomainError, ErrorCode } from '@app/common';
import { ValidationError, ValidationPipe } from '@nestjs/common';

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Strict input: unknown fields are refused (not silently dropped), values are converted to the declared types, and
 * every problem comes back at once as `details.problems` with the path of the field, e.g. `limits.memoryMB`.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors: ValidationError[]) => {
      const problems = flatten(errors);
      return new DomainError(
        ErrorCode.ValidationFailed,
        `Invalid request: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
        { problems },
      );
    },
  });
}

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      // class-validator starts messages with the property name; the field path already says which one.
      message: message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
