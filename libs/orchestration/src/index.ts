export * from './container-orchestrator.service';
export * from './github';
export * from './job-intake.service';
export * from './orchestration.module';
export * from './workflow-job-intake.service';
export * from './pools';
