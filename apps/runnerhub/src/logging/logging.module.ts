import { AppConfig } from '@app/common';
import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { LogDestination } from './log-destination';
import { pinoHttpOptions } from './pino-options';

/**
 * Structured logs through pino: one JSON object a line in production, colourised lines in development. Every request
 * carries an id (the caller's X-Request-Id when it is sane, a new UUID otherwise), echoed in the response, so a log
 * line can be traced back to the call that caused it. Credentials are redacted before anything is written (see
 * pinoHttpOptions). JSON lines are written asynchronously, off the requests' path (LogDestination).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      providers: [LogDestination],
      inject: [AppConfig, LogDestination],
      useFactory: (config: AppConfig, output: LogDestination) => ({
        // Every route, in Nest 11's path syntax (the library's default '*' draws a deprecation warning).
        forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
        pinoHttp:
          config.log.format === 'pretty' ? pinoHttpOptions(config) : [pinoHttpOptions(config), output.destination],
      }),
    }),
  ],
})
export class LoggingModule {}
