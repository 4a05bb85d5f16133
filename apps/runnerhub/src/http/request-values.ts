import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Query strings arrive as text. These transforms convert only values that are exactly what they claim to be
 * (`"25"`, `"true"`), and leave anything else as it came, so that `@IsInt()` or `@IsBoolean()` refuse it with a
 * clear message instead of `"abc"` quietly becoming NaN or `"yes"` becoming true.
 */
export const ToInteger = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value,
  );

export const ToBoolean = () =>
  Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

/** `a,b,c` (or the same key repeated) to `['a', 'b', 'c']`, blanks dropped; anything else is left for the validator. */
export const ToList = () =>
  Transform(({ value }: { value: unknown }) => {
    const items = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) return value;
    return items.flatMap((item: string) =>
      item
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    );
  });

export interface StringRecordRules {
  maxEntries: number;
  maxKeyLength: number;
  maxValueLength: number;
  /** Keys must match this; values are never checked against a pattern (and never echoed in messages). */
  keyPattern?: RegExp;
  keyRule?: string;
}

/**
 * A plain JSON object of string values (`env`, `labels`). Messages name the offending key at most, never a value:
 * env values may be secrets.
 */
export function IsStringRecord(rules: StringRecordRules, options?: ValidationOptions): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of strings';
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > rules.maxEntries) return `must have at most ${rules.maxEntries} entries`;
    for (const [key, item] of entries) {
      const shownKey = key.length > 64 ? `${key.slice(0, 64)}...` : key;
      if (key.length === 0 || key.length > rules.maxKeyLength) {
        return `keys must be 1 to ${rules.maxKeyLength} characters long (${JSON.stringify(shownKey)} is not)`;
      }
      if (rules.keyPattern && !rules.keyPattern.test(key)) {
        return `key ${JSON.stringify(shownKey)} ${rules.keyRule ?? `must match ${String(rules.keyPattern)}`}`;
      }
      if (typeof item !== 'string') return `value of ${JSON.stringify(shownKey)} must be a string`;
      if (item.length > rules.maxValueLength) {
        return `value of ${JSON.stringify(shownKey)} must be at most ${rules.maxValueLength} characters long`;
      }
    }
    return null;
  };
  return ValidateBy(
    {
      name: 'isStringRecord',
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => `${args?.property ?? 'value'} ${problem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}
