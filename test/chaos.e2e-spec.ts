import { runBank } from './chaos/bank.js';

/**
 * The bank chaos test of issues #7 and #23 (the workload, the faults and the checks are in test/chaos/bank.ts,
 * the probes of ledger isolation in test/chaos/isolation.ts): several ledgers written at once, each by clients
 * holding a token limited to it, checked per ledger for conservation and isolation.
 * `npm test` runs a small one (a few thousand operations, 8 faults, about a minute); `npm run test:chaos`
 * (CHAOS_SCALE=full) the full one: at least 20,000 operations and 32 faults. CHAOS_SEED replays a workload's
 * choices (not the timing of the faults); CHAOS_VERBOSE=1 prints progress; CHAOS_KEEP_LOGS=1 keeps the logs.
 */
const FULL = process.env.CHAOS_SCALE === 'full';
const SEED = process.env.CHAOS_SEED === undefined ? undefined : Number(process.env.CHAOS_SEED);

const OPTIONS = FULL
  ? {
      label: 'full',
      operations: 20_000,
      minFaults: 32,
      ledgers: 3,
      clients: 16,
      minFaultGapMs: 2000,
      maxFaultGapMs: 15_000,
      maxRunMs: 45 * 60_000,
      impatientShare: 0.05,
      replaySample: 400,
    }
  : {
      label: 'small',
      operations: 2500,
      minFaults: 8,
      ledgers: 3,
      clients: 16,
      minFaultGapMs: 1000,
      maxFaultGapMs: 5000,
      maxRunMs: 150_000,
      impatientShare: 0.05,
      replaySample: 200,
    };

describe('bank chaos: two instances on one PostgreSQL, several ledgers, faults all along', () => {
  it(
    `keeps every invariant, per ledger, through ${OPTIONS.operations}+ operations in ${OPTIONS.ledgers} ledgers and ${OPTIONS.minFaults}+ faults (${OPTIONS.label})`,
    async () => {
      const report = await runBank({
        ...OPTIONS,
        seed: SEED,
        progress: FULL || process.env.CHAOS_VERBOSE ? (line) => process.stderr.write(`[chaos] ${line}\n`) : undefined,
      });
      process.stdout.write(`\n${report.summary}\n\n`);
      expect(report.violations).toEqual([]);
      expect(report.auditorViolations).toBe(0);
      expect(report.operations).toBeGreaterThanOrEqual(OPTIONS.operations);
      expect(report.faultsTotal).toBeGreaterThanOrEqual(OPTIONS.minFaults);
      expect(report.auditorReads).toBeGreaterThan(0);
      expect(report.isolationViolations).toBe(0);
      expect(report.isolationProbes).toBeGreaterThan(0);
    },
    FULL ? 60 * 60_000 : 240_000,
  );
});
