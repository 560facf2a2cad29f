/**
 * The backend conformance suite: one behaviour suite, every backend (DESIGN.md, "The backend
 * seam"). It talks to a backend only through the `Backend` interface, so the SQLite adapter and
 * the Redis adapters run it unchanged; what differs between them is declared as data
 * (`Backend.features`, {@link ConformanceOptions}).
 *
 * @example
 * defineConformanceSuite('sqlite', ({ clock, namespace, storeId }) =>
 *   openBackend(`sqlite:${join(dirFor(storeId), 'baton.db')}`, { clock, namespace }));
 */
import { describe, afterEach, beforeEach } from 'vitest';
import { routingPolicyCases } from './cases/affinity.ts';
import { agentCases } from './cases/agents.ts';
import { budgetCases } from './cases/budget.ts';
import { cancelCases } from './cases/cancel.ts';
import { claimCases } from './cases/claim.ts';
import { concurrencyCases } from './cases/concurrency.ts';
import { dependencyCases } from './cases/deps.ts';
import { durabilityCases } from './cases/durability.ts';
import { dynamicCases } from './cases/dynamic.ts';
import { eventCases } from './cases/events.ts';
import { latestEventCases } from './cases/latest-events.ts';
import { holderCases, ownerCases } from './cases/holder.ts';
import { leaseCases } from './cases/leases.ts';
import { ledgerCases } from './cases/ledger.ts';
import { modelCases } from './cases/models.ts';
import { listingCases } from './cases/listing.ts';
import { logCases } from './cases/logs.ts';
import { registryCases } from './cases/registry.ts';
import { releaseCases } from './cases/release.ts';
import { replayCases } from './cases/replay.ts';
import { retryCases } from './cases/retries.ts';
import { routingCases } from './cases/routing.ts';
import { runResultCases } from './cases/run-result.ts';
import { runCases } from './cases/runs.ts';
import { stateCases } from './cases/state.ts';
import { expertiseCases } from './cases/expertise.ts';
import { submitCases } from './cases/submit.ts';
import { timeCases } from './cases/times.ts';
import { validationCases } from './cases/validation.ts';
import { waitCases } from './cases/wait.ts';
import { createEnv, type BackendFactory, type ConformanceOptions } from './context.ts';

export type { BackendFactory, ConformanceOptions, FactoryOptions, TestContext } from './context.ts';

/**
 * Register the whole suite under `describe(name)`. Each test gets a fresh store (a new
 * `storeId`), a unique namespace and a {@link ManualClock}; every backend it opened is closed
 * after it, then `options.cleanup` deletes the store.
 */
export function defineConformanceSuite(
  name: string,
  factory: BackendFactory,
  options: ConformanceOptions = {},
): void {
  describe(`backend conformance: ${name}`, () => {
    const env = createEnv(name, factory, options, { beforeEach, afterEach });
    submitCases(env);
    claimCases(env);
    routingCases(env);
    routingPolicyCases(env);
    leaseCases(env);
    holderCases(env);
    ownerCases(env);
    retryCases(env);
    dependencyCases(env);
    timeCases(env);
    runCases(env);
    runResultCases(env);
    dynamicCases(env);
    cancelCases(env);
    releaseCases(env);
    replayCases(env);
    eventCases(env);
    latestEventCases(env);
    logCases(env);
    agentCases(env);
    registryCases(env);
    waitCases(env);
    listingCases(env);
    validationCases(env);
    concurrencyCases(env);
    durabilityCases(env);
    ledgerCases(env);
    budgetCases(env);
    modelCases(env);
    stateCases(env);
    expertiseCases(env);
  });
}
