// The local APIC's construction options, statistics and debugger snapshot shapes (what machine/ and debug/
// see of it). The behaviour behind them is local-apic.ts's.

import type { Scheduler } from '../../core/scheduler.js';

export interface LocalApicOptions {
  scheduler: Scheduler;
  /** The hardware-initialised x2APIC ID (read-only); its low 8 bits are the xAPIC ID. Default 0. */
  apicId?: number;
  /** IA32_APIC_BASE.BSP (read-only). Default true. */
  bsp?: boolean;
  /** The CPU's TSC, for IA32_TSC_DEADLINE. Default: the scheduler's cycle clock. */
  tsc?: () => number;
  /** Called when hasInterrupt() turns true, so the CPU re-checks at its next instruction boundary. */
  onInterruptPending?: () => void;
  /** Called on EOI of a level-triggered vector (TMR set): the EOI broadcast to I/O APICs. */
  onEoiBroadcast?: (vector: number) => void;
  /** Called when a WRMSR moves the xAPIC page; the machine remaps the MMIO window. */
  onBaseChange?: (base: number) => void;
  /** MAXPHYADDR, bounding the base address field. Default 32 (no PAE, no CPUID 80000008). */
  maxPhysAddrBits?: number;
}

/** Statistics (counted always, read by `info lapic` and reports). */
export interface LocalApicStats {
  /** Interrupts accepted into IRR (merges included). */
  accepted: number;
  /** Accepted while IRR already held the vector (collapsed into one request, SDM 11.8.4). */
  merged: number;
  /** Vectors handed to the CPU by acknowledge(). */
  delivered: number;
  /** acknowledge() with nothing deliverable: the spurious vector returned (SDM 11.9). */
  spuriousAcks: number;
  /** EOI with nothing in service. */
  spuriousEois: number;
  /** Vectors 0-15 sent or received (ESR bits 5/6). */
  illegalVectors: number;
  /** Messages not accepted: other destination, unsupported delivery mode, APIC disabled, de-assert. */
  dropped: number;
  /** IPIs sent through ICR or SELF IPI. */
  ipis: number;
  /** MSIs received (whatever became of them). */
  msis: number;
  /** MMIO accesses of the wrong size/alignment, or while the page is not the APIC's (x2APIC, disabled). */
  badMmio: number;
}

export interface LocalApicSnapshot {
  mode: 'disabled' | 'xapic' | 'x2apic';
  base: number;
  apicBaseMsr: [number, number];
  id: number;
  version: number;
  tpr: number;
  ppr: number;
  ldr: number;
  dfr: number;
  svr: number;
  esr: number;
  esrPending: number;
  icr: [number, number];
  irr: number[];
  isr: number[];
  tmr: number[];
  lvt: { timer: number; thermal: number; perf: number; lint0: number; lint1: number; error: number };
  timer: {
    initialCount: number;
    currentCount: number;
    divideConfig: number;
    divisor: number;
    tscDeadline: number;
    nextExpiry: number;
    expiries: number;
  };
  pending: boolean;
  stats: LocalApicStats;
}
