import { ApiProperty } from '@nestjs/swagger';
import { IsArray, IsBoolean, IsInt, IsNumber, IsOptional, IsString } from 'class-validator';

/**
 * A Docker engine to add, as one element of DOCKER_ENGINES gives it (the same fields and the same rules; see
 * docs/FLEET.md). Here only the types are checked: the rules are DOCKER_ENGINES' own, applied by the fleet.
 */
export class CreateEngineDto {
  /** 1-63 lower-case letters, digits and dashes, starting with a letter or digit; unique in the fleet. */
  @ApiProperty({ example: 'builder-2' })
  @IsString()
  name!: string;

  /** As DOCKER_HOST takes it: `unix:///path/to/docker.sock` or `tcp://host:port`. */
  @ApiProperty({ example: 'tcp://10.0.0.2:2376' })
  @IsString()
  host!: string;

  /** Speak TLS to a tcp:// host and verify its certificate, with the client certificate from certPath. */
  @IsOptional()
  @IsBoolean()
  tlsVerify?: boolean;

  /** With tlsVerify: the directory on the RunnerHub hosts holding ca.pem, cert.pem and key.pem (default ~/.docker). */
  @ApiProperty({ required: false, example: '/etc/runnerhub/builder-2' })
  @IsOptional()
  @IsString()
  certPath?: string;

  /** Such as `gpu`, `arm64` (lower case); jobs asking for a label are placed only on engines carrying it. */
  @ApiProperty({ type: [String], required: false, example: ['gpu'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  labels?: string[];

  /** Memory that may be placed on it, MiB (64 or more); default: the engine's own total (`info`). */
  @IsOptional()
  @IsInt()
  memoryMb?: number;

  /** CPUs that may be placed on it (0.01 or more); default: the engine's own count (`info`). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  cpus?: number;

  /** At most this many containers on it at once; default: no limit beyond MAX_CONCURRENT_CONTAINERS. */
  @IsOptional()
  @IsInt()
  maxContainers?: number;

  /** The network its runner containers join instead of RUNNER_NETWORK (`none` for an engine without a bridge). */
  @IsOptional()
  @IsString()
  network?: string;

  /**
   * Add it even though it does not answer a ping now (it is then `unreachable` until it does). Without it, an engine
   * that does not answer is refused with 422 ENGINE_UNAVAILABLE and nothing is written.
   */
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}
