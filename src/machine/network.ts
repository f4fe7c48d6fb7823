// Puts a link peer on the NIC's wire for a run: the stream or request/response workload of src/devices/net,
// seeded, with the NIC's MSI count as the interrupt counter. Wiring only; the workloads are devices/net's.

import { Rng } from '../core/rng.js';
import { type RrOptions, RrWorkload, type StreamOptions, StreamWorkload } from '../devices/net/index.js';
import type { Machine } from './machine.js';

export type NetWorkloadKind = 'stream' | 'rr';

export interface NetOptions {
  workload: NetWorkloadKind;
  /** Seed of the payload generator (default 1). */
  seed?: number;
  stream?: Omit<StreamOptions, 'onDone' | 'interrupts'>;
  rr?: Omit<RrOptions, 'onDone' | 'interrupts'>;
}

/** What a run reports about its network: the workload's numbers and the lines the CLI prints. */
export interface NetResult {
  workload: NetWorkloadKind;
  report: object;
  lines: string[];
}

export interface AttachedPeer {
  result(): NetResult;
}

/** Attaches and starts the workload; it waits for the guest driver's hello before sending. */
export function attachPeer(machine: Machine, options: NetOptions): AttachedPeer {
  const rng = new Rng(options.seed ?? 1);
  const interrupts = (): number => machine.nic.stats.msiSent;
  const peer =
    options.workload === 'rr'
      ? new RrWorkload(machine.scheduler, rng, { ...options.rr, interrupts })
      : new StreamWorkload(machine.scheduler, rng, { ...options.stream, interrupts });
  peer.attach(machine.nic);
  machine.nic.attachPeer(peer);
  peer.start();
  return {
    result: () => ({ workload: options.workload, report: peer.report(), lines: peer.formatReport() }),
  };
}
