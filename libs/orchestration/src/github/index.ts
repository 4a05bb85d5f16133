export { GitHubModule } from './github.module';
export { GitHubRunnerRegistry } from './github-runner.registry';
export type {
  RunnerCredentials,
  RunnerDeregistration,
  RunnerRegistrationRequest,
  RunnerScope,
} from './runner-registration.types';
export { runnerUrlOf } from './runner-url.mapper';
export { REDACTED, redactSecrets } from './secret.redactor';
