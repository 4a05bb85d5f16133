/** How a command ended and what it wrote. */
export class ExecResultDto {
  exitCode!: number;
  /** stdout and stderr interleaved in the order the engine sent them. */
  output!: string;
  stdout!: string;
  stderr!: string;
  /** True when the output went over 1 MiB and the rest was dropped. */
  truncated!: boolean;
}
