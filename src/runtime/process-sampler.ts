/**
 * Samples what an agent reports about its process with each heartbeat: CPU use since the
 * previous sample (from `process.cpuUsage()` deltas over the wall-clock interval) and resident
 * memory. Both are process-wide, so a sampler on the heartbeat thread sees the handlers' work on
 * the main thread too.
 */
import type { AgentReport } from '../core/types.ts';

export class ProcessSampler {
  #cpu: NodeJS.CpuUsage | null = null;
  #at = 0;
  /** The agent's handlers abandoned after an abort and still running (`AgentReport`). */
  abandonedHandlers = 0;

  /**
   * The report for now. The first call has no earlier sample, so its `cpuPercent` is null; so is
   * one taken less than a millisecond after the previous (too short to mean anything).
   */
  sample(): AgentReport {
    const now = performance.now();
    const cpu = process.cpuUsage();
    let cpuPercent: number | null = null;
    if (this.#cpu !== null && now - this.#at >= 1) {
      const usedMicros = cpu.user - this.#cpu.user + (cpu.system - this.#cpu.system);
      cpuPercent = Math.max(0, Math.round((usedMicros / 1000 / (now - this.#at)) * 1000) / 10);
    }
    this.#cpu = cpu;
    this.#at = now;
    let rssBytes: number | null;
    try {
      rssBytes = process.memoryUsage.rss();
    } catch {
      rssBytes = null; // some platforms cannot tell
    }
    return { cpuPercent, rssBytes, abandonedHandlers: this.abandonedHandlers };
  }
}
