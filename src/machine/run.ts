// Running a guest to completion: build a Machine, load the image, and drive the CPU in slices up to the next
// timer deadline until debug-exit, triple fault, a dead halt or the cycle budget. Printing is cli/'s job.

import type { Logger } from '../core/tracer.js';
import { debugExitStatus } from '../devices/debug-exit.js';
import { type NetOptions, type NetResult, attachPeer } from './network.js';
import { DEFAULT_MEMORY_BYTES, Machine, type MachineConfig } from './machine.js';
import { Cpu } from '../cpu/cpu.js';
import { MAX_RAM_BYTES } from '../core/physical-memory.js';
import { HOST_RESERVE_BYTES, Vm, type VmRunResult } from '../hypervisor/vm.js';

/** How the guest runs: on the bare board, or in a VM under the hypervisor written in TypeScript (DESIGN.md modes). */
export type RunMode = 'bare' | 'trap';

export interface RunOptions {
  memoryBytes?: number;
  maxCycles?: number;
  cmdline?: string;
  modules?: { name: string; data: Uint8Array }[];
  serial?: (byte: number) => void;
  debugcon?: (byte: number) => void;
  logger?: Logger;
  noReboot?: boolean;
  /** A link peer on the NIC's wire (stream or request/response workload). */
  net?: NetOptions;
  /** bare (default): the guest owns the board; trap: the guest runs in a VM behind VM exits. */
  mode?: RunMode;
  /** Board options beyond the common ones (CPU factory for tests, clock frequency). */
  machine?: Pick<MachineConfig, 'cpuFactory' | 'frequencyHz' | 'serialLogLimit'>;
}

export type RunStop = 'debug-exit' | 'shutdown' | 'halted' | 'max-cycles' | 'load-error' | 'entry-failure' | 'unhandled-exit';

export interface RunResult {
  serial: string;
  exitStatus: number | null;
  exitValue: number | null;
  stop: RunStop;
  error?: string;
  cycles: number;
  instructions: number;
  /** Loader warnings (e.g. a video mode request), one line each. */
  warnings?: string[];
  /** Bytes written to the Bochs shutdown port 0x8900, if any (kvm-unit-tests writes "Shutdown"). */
  bochsShutdown?: string;
  /** Cycles the CPU spent halted with nothing to do (the board skipped to the next event). */
  idleCycles?: number;
  /** The link peer's report, when RunOptions.net attached one. */
  net?: NetResult;
  /** Under a hypervisor: its exits by reason, entries, and handler cycles. */
  vm?: VmRunResult;
}

/** EFLAGS.IF (SDM Vol. 1 3.4.3). */
const EFLAGS_IF = 1 << 9;

/** Loads `image` as a multiboot kernel on a fresh machine and runs it (see RunResult.stop for why it ended). */
export function runImage(image: Uint8Array, options: RunOptions = {}): RunResult {
  if (options.mode === 'trap') return runInVm(image, options);
  const machine = new Machine({
    memoryBytes: options.memoryBytes,
    serial: options.serial,
    debugcon: options.debugcon,
    logger: options.logger,
    ...options.machine,
  });
  const loaded = machine.loadMultiboot(image, { cmdline: options.cmdline, modules: options.modules });
  if (!loaded.ok) {
    return { serial: '', exitStatus: null, exitValue: null, stop: 'load-error', error: loaded.error, cycles: 0, instructions: 0 };
  }
  const peer = options.net ? attachPeer(machine, options.net) : null;
  const result = runMachine(machine, options);
  if (loaded.warnings.length > 0) result.warnings = loaded.warnings;
  if (peer !== null) result.net = peer.result();
  return result;
}

/** The run loop on an already loaded machine. */
export function runMachine(machine: Machine, options: Pick<RunOptions, 'maxCycles' | 'noReboot'> = {}): RunResult {
  const { cpu, scheduler, logger } = machine;
  const limit = options.maxCycles ?? Infinity;
  let stop: RunStop;
  let idle = 0;
  for (;;) {
    if (machine.exitValue !== null) {
      stop = 'debug-exit';
      break;
    }
    if (scheduler.now >= limit) {
      stop = 'max-cycles';
      break;
    }
    const why = cpu.run(Math.min(scheduler.nextDeadline(), limit));
    scheduler.runDue();
    if (machine.exitValue !== null) continue;
    if (why === 'shutdown') {
      stop = 'shutdown';
      if (logger.enabled('cpu_reset')) {
        const note = options.noReboot ? '' : ' (QEMU would reset here; exitless stops the run)';
        logger.log('cpu_reset', `Triple fault: CPU Reset (CPU 0)${note}\n${cpu.formatRegisters()}`);
      }
      break;
    }
    if (why === 'halt') {
      // HLT: with IF=0 or no timer armed nothing can ever wake the CPU; otherwise skip to the next event.
      const interruptible = cpu.interruptible ? cpu.interruptible() : (cpu.flags & EFLAGS_IF) !== 0;
      if (machine.intc.hasInterrupt() && interruptible) continue;
      const next = scheduler.nextDeadline();
      if (!interruptible || next === Infinity) {
        stop = 'halted';
        break;
      }
      const before = scheduler.now;
      scheduler.now = Math.min(next, limit);
      idle += scheduler.now - before;
      scheduler.runDue();
    }
    // 'limit' and 'stop' (a debugger's request) just go round again.
  }
  if (logger.enabled('cpu')) logger.log('cpu', cpu.formatRegisters());
  const bochs = machine.bochsShutdown.collected();
  if (bochs.length > 0 && logger.enabled('unimp')) {
    logger.log('unimp', `Bochs shutdown port 0x8900 written: "${machine.bochsShutdown.collectedText()}" (ignored)`);
  }
  const exitValue = machine.exitValue;
  const result: RunResult = {
    serial: machine.serialText(),
    exitStatus: exitValue === null ? null : debugExitStatus(exitValue),
    exitValue,
    stop,
    cycles: scheduler.now,
    instructions: cpu.instructions,
    idleCycles: idle,
  };
  if (bochs.length > 0) result.bochsShutdown = machine.bochsShutdown.collectedText();
  return result;
}

/**
 * Runs the image in a VM: the board has guest RAM plus the hypervisor's memory above it; the loader fills guest
 * RAM and leaves the multiboot entry state in the CPU, which the hypervisor takes as the guest's initial state.
 */
function runInVm(image: Uint8Array, options: RunOptions): RunResult {
  const guestRam = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  const fail = (error: string): RunResult => ({ serial: '', exitStatus: null, exitValue: null, stop: 'load-error', error, cycles: 0, instructions: 0 });
  const boardRam = Math.ceil(guestRam / 0x200000) * 0x200000 + HOST_RESERVE_BYTES;
  if (boardRam > MAX_RAM_BYTES) {
    return fail(`-m: at most ${(MAX_RAM_BYTES - HOST_RESERVE_BYTES) >>> 20} MiB with --mode trap (the hypervisor keeps ${HOST_RESERVE_BYTES >>> 20} MiB above guest RAM)`);
  }
  const machine = new Machine({
    memoryBytes: boardRam,
    serial: options.serial,
    debugcon: options.debugcon,
    logger: options.logger,
    ...options.machine,
  });
  const loaded = machine.loadMultiboot(image, { cmdline: options.cmdline, modules: options.modules, ramBytes: guestRam });
  if (!loaded.ok) return fail(loaded.error);
  const cpu = machine.cpu;
  if (!(cpu instanceof Cpu) || machine.vmx === null) return fail('--mode trap needs the CPU with VMX');
  const debugcon = options.debugcon;
  const vm = new Vm({
    cpu,
    vmx: machine.vmx,
    scheduler: machine.scheduler,
    logger: machine.logger,
    guestRamBytes: guestRam,
    sinks: {
      serial: (byte) => machine.serialOut(byte),
      debugExit: (value) => machine.debugExitWritten(value),
      debugcon: (byte) => debugcon?.(byte),
    },
    exited: () => machine.exitValue !== null,
  });
  const r = vm.run(options.maxCycles ?? Infinity);
  const exitValue = machine.exitValue;
  const result: RunResult = {
    serial: machine.serialText(),
    exitStatus: exitValue === null ? null : debugExitStatus(exitValue),
    exitValue,
    stop: r.stop,
    cycles: machine.scheduler.now,
    instructions: cpu.instructions,
    vm: r,
  };
  if (r.message !== undefined && (r.stop === 'entry-failure' || r.stop === 'unhandled-exit')) result.error = r.message;
  if (loaded.warnings.length > 0) result.warnings = loaded.warnings;
  if (r.stop === 'shutdown' && machine.logger.enabled('cpu_reset')) {
    machine.logger.log('cpu_reset', `Triple fault in the VM (exit TRIPLE_FAULT)\n${vm.dump()}`);
  }
  return result;
}
