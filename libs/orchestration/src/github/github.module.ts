import { AppConfig } from '@app/common';
import { Module } from '@nestjs/common';
import { createGitHubClient, GITHUB_CLIENT, TOKEN_REFRESH_MARGIN_MS } from './github-client.factory';
import { GitHubRunnerRegistry } from './github-runner.registry';
import { DEFAULT_TOKEN_REFRESH_MARGIN_MS } from './installation-token.cache';

/**
 * RunnerHub's side of GitHub: one Octokit client for the process and the runner registry built on it. Needs
 * AppConfig from the application (AppConfigModule is global).
 */
@Module({
  providers: [
    { provide: TOKEN_REFRESH_MARGIN_MS, useValue: DEFAULT_TOKEN_REFRESH_MARGIN_MS },
    {
      provide: GITHUB_CLIENT,
      useFactory: (config: AppConfig, refreshMarginMs: number) =>
        createGitHubClient(config.github, { refreshMarginMs }),
      inject: [AppConfig, TOKEN_REFRESH_MARGIN_MS],
    },
    GitHubRunnerRegistry,
  ],
  exports: [GitHubRunnerRegistry],
})
export class GitHubModule {}
