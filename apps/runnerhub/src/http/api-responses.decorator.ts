import { applyDecorators, HttpStatus, Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ApiErrorEnvelopeDto, PageDto } from './api-envelope.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request breaks a rule: `error.details.problems` lists each field and what to send instead',
  401: 'No API key, or one RunnerHub does not know (for webhooks: a signature that does not match)',
  403: "The API key's role may not do this (for webhooks: GITHUB_WEBHOOK_SECRET is not set)",
  404: 'No such id',
  409: 'Not possible in the current state (the message names it)',
  422: 'Well-formed, but cannot be carried out here (missing image, unsupported limit, labels not served, no GitHub credentials)',
  429: 'Too many calls (per API key, or without a key per client address) or event streams: retry after the Retry-After header',
  502: 'The Docker engine (or GitHub) refused the request',
  503: 'The Docker engine, the database or GitHub is unavailable',
  504: 'The operation did not finish in time',
};

/**
 * A successful response in the `{ success: true, data }` envelope, typed for generated clients. `list` adds the
 * paging block beside the items.
 */
export function ApiEnvelope<T extends Type<unknown>>(
  model: T,
  options: { status?: HttpStatus; isArray?: boolean; list?: boolean; description?: string } = {},
) {
  const data =
    options.isArray || options.list
      ? { type: 'array', items: { $ref: getSchemaPath(model) } }
      : { $ref: getSchemaPath(model) };
  const properties: Record<string, object> = { success: { type: 'boolean', enum: [true] }, data };
  if (options.list) properties.page = { $ref: getSchemaPath(PageDto) };
  return applyDecorators(
    ApiExtraModels(model, PageDto),
    ApiResponse({
      status: options.status ?? HttpStatus.OK,
      description: options.description ?? 'Success',
      schema: { type: 'object', required: Object.keys(properties), properties },
    }),
  );
}

/**
 * Documents the failures an operation can answer with, each in the error envelope. 401, 429 (the per-key budgets, and
 * the per-address one for callers without a valid key, webhooks included) and 503 are implied.
 */
export function ApiFailures(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ApiErrorEnvelopeDto),
    ...[...new Set([...statuses, 401, 429, 503])]
      .sort()
      .map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ApiErrorEnvelopeDto })),
  );
}
