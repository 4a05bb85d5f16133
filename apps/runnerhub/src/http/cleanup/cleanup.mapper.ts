import { CleanupAction, CleanupOutcome, CleanupReport } from '@app/cleanup';
import { CleanupActionDto, CleanupOutcomeDto, CleanupReportDto } from './dto/cleanup-action.dto';

export function toCleanupActionDto(action: CleanupAction): CleanupActionDto {
  return {
    kind: action.kind,
    containerId: action.kind === 'adopt-and-remove' ? null : action.containerId,
    engineId: action.kind === 'adopt-and-remove' ? action.engineId : null,
    name: action.name,
    policy: action.policy,
    reason: action.reason,
    force: action.kind === 'remove' ? action.force : action.kind === 'adopt-and-remove',
  };
}

function toOutcomeDto(outcome: CleanupOutcome): CleanupOutcomeDto {
  return { ...toCleanupActionDto(outcome.action), outcome: outcome.outcome, detail: outcome.detail };
}

export function toCleanupReportDto(report: CleanupReport): CleanupReportDto {
  return {
    ran: report.ran,
    startedAt: report.startedAt.toISOString(),
    durationMs: Math.round(report.durationMs),
    outcomes: report.outcomes.map(toOutcomeDto),
  };
}
