import type { DataSource, EntityMetadata, ObjectLiteral } from 'typeorm';

/** A WHERE clause in the reader's SQL and the values of its parameters, in order. */
export interface RowCondition {
  sql: string;
  parameters: unknown[];
}

/**
 * Reads the rows of one entity with hand-written SQL for the routes read most (`GET /api/containers` and
 * `GET /api/containers/:id`): the column list is escaped once, and each row is hydrated column by column with the
 * driver's own conversion (prepareHydratedValue: dates, simple-json, numbers), so an entity read here is the same as
 * one TypeORM's find() returns, on SQLite and PostgreSQL alike.
 *
 * Why not find(): profiled under bench:api, TypeORM's generic query building and result transformation were 15 % of a
 * detail read and a fifth of a list page, several times the database's own work. Writes, and every read that is not
 * on such a hot path, stay with TypeORM.
 */
export class EntityRowReader<Entity extends ObjectLiteral> {
  private readonly metadata: EntityMetadata;
  private readonly select: string;

  constructor(
    private readonly dataSource: DataSource,
    target: new () => Entity,
  ) {
    this.metadata = dataSource.getMetadata(target);
    const columns = this.metadata.columns.map((column) => this.escape(column.databaseName)).join(', ');
    this.select = `SELECT ${columns} FROM ${this.escape(this.metadata.tableName)}`;
  }

  /** The escaped name of an entity property's column, for conditions and ORDER BY. */
  column(property: keyof Entity & string): string {
    const column = this.metadata.findColumnWithPropertyName(property);
    if (!column) throw new Error(`${this.metadata.name} has no column for ${property}`);
    return this.escape(column.databaseName);
  }

  /** The driver's placeholder for the parameter at this zero-based position (`?` on SQLite, `$1` on PostgreSQL). */
  parameter(index: number): string {
    return this.dataSource.driver.createParameter(`p${index}`, index);
  }

  /** An AND of `column = value` (or `column IN (...)` for an array) for each value that is not undefined. */
  where(values: Partial<Record<keyof Entity & string, unknown>>): RowCondition {
    const parts: string[] = [];
    const parameters: unknown[] = [];
    for (const [property, value] of Object.entries(values)) {
      if (value === undefined) continue;
      const column = this.column(property);
      if (Array.isArray(value)) {
        const placeholders = value.map((item) => {
          parameters.push(item);
          return this.parameter(parameters.length - 1);
        });
        // An empty list matches nothing, as TypeORM's In([]) does.
        parts.push(value.length === 0 ? '1 = 0' : `${column} IN (${placeholders.join(', ')})`);
      } else {
        parameters.push(value);
        parts.push(`${column} = ${this.parameter(parameters.length - 1)}`);
      }
    }
    return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, parameters };
  }

  /** The entities of the rows `SELECT ... FROM table <rest>` finds. */
  async find(rest: string, parameters: unknown[]): Promise<Entity[]> {
    const rows = await this.dataSource.query<Record<string, unknown>[]>(`${this.select} ${rest}`, parameters);
    return rows.map((row) => this.hydrate(row));
  }

  /** How many rows match (PostgreSQL answers COUNT(*) as a string). */
  async count(condition: RowCondition): Promise<number> {
    const table = this.escape(this.metadata.tableName);
    const [row] = await this.dataSource.query<{ total: string | number }[]>(
      `SELECT COUNT(*) AS ${this.escape('total')} FROM ${table} ${condition.sql}`,
      condition.parameters,
    );
    return Number(row.total);
  }

  private hydrate(row: Record<string, unknown>): Entity {
    const entity = this.metadata.create() as Entity;
    const driver = this.dataSource.driver;
    for (const column of this.metadata.columns) {
      (entity as Record<string, unknown>)[column.propertyName] = driver.prepareHydratedValue(
        row[column.databaseName],
        column,
      );
    }
    return entity;
  }

  private escape(name: string): string {
    return this.dataSource.driver.escape(name);
  }
}
