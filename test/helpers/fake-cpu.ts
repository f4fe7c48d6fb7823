// Test fake: a scripted CPU for machine and CLI tests. It runs a list of steps (port I/O, HLT, STI, a triple
// fault) one cycle each, takes interrupts from its controller like the real one, and records the vectors.

import type { PortBus } from '../../src/core/bus.js';
import type { InterruptController } from '../../src/core/irq.js';
import type { Scheduler } from '../../src/core/scheduler.js';
import type { CpuStop } from '../../src/cpu/cpu.js';
import type { CpuDependencies, MachineCpu } from '../../src/machine/machine.js';

export type FakeStep =
  | { out: number; value: number; size?: 1 | 2 | 4 }
  | { in: number; size?: 1 | 2 | 4 }
  | { hlt: true }
  | { sti: true }
  | { cli: true }
  | { tripleFault: true }
  | { spin: number }; // burn this many cycles

const IF = 1 << 9;

export class FakeCpu implements MachineCpu {
  intc: InterruptController | null = null;
  flags = 0x2;
  instructions = 0;
  entry = -1;
  mbi = -1;
  halted = false;
  /** Vectors taken, with the cycle at which each was taken. */
  readonly taken: { vector: number; cycle: number }[] = [];
  readonly inputs: number[] = [];
  private pc = 0;
  private spinLeft = 0;
  private stopRequested = false;
  private shutdown = false;
  private readonly ports: PortBus;
  private readonly scheduler: Scheduler;

  constructor(
    deps: CpuDependencies,
    private readonly script: FakeStep[],
    /** Steps run after each interrupt is taken (the handler), e.g. an EOI write. */
    private readonly handler: FakeStep[] = [],
  ) {
    this.ports = deps.ports;
    this.scheduler = deps.scheduler;
  }

  static factory(script: FakeStep[], handler: FakeStep[] = []): { factory: (deps: CpuDependencies) => FakeCpu; cpu: () => FakeCpu } {
    let made: FakeCpu | null = null;
    return {
      factory: (deps) => (made = new FakeCpu(deps, script, handler)),
      cpu: () => made!,
    };
  }

  enterMultibootState(entry: number, mbiAddress: number): void {
    this.entry = entry;
    this.mbi = mbiAddress;
  }

  requestStop(): void {
    this.stopRequested = true;
  }

  formatRegisters(): string {
    return `EIP=${this.pc.toString(16).padStart(8, '0')} (fake CPU)`;
  }

  run(untilCycle: number): CpuStop {
    const s = this.scheduler;
    for (;;) {
      if (this.shutdown) return 'shutdown';
      if (this.stopRequested) {
        this.stopRequested = false;
        return 'stop';
      }
      // A device access may have armed an earlier timer: the slice ends at the earliest deadline (the real
      // CPU must do the same after port and MMIO accesses).
      const end = Math.min(untilCycle, s.nextDeadline());
      if (s.now >= end) return 'limit';
      if ((this.flags & IF) !== 0 && this.intc?.hasInterrupt()) {
        this.halted = false;
        this.taken.push({ vector: this.intc.acknowledge(), cycle: s.now });
        for (const step of this.handler) this.exec(step);
        continue;
      }
      if (this.halted) return 'halt';
      if (this.spinLeft > 0) {
        const n = Math.min(this.spinLeft, end - s.now);
        this.spinLeft -= n;
        s.now += n;
        this.instructions += n;
        continue;
      }
      if (this.pc >= this.script.length) {
        this.halted = true; // falling off the script is `cli; hlt`
        this.flags &= ~IF;
        continue;
      }
      this.exec(this.script[this.pc++]);
    }
  }

  private exec(step: FakeStep): void {
    this.instructions++;
    this.scheduler.now += 1;
    if ('out' in step) this.ports.write(step.out, step.size ?? 1, step.value);
    else if ('in' in step) this.inputs.push(this.ports.read(step.in, step.size ?? 1));
    else if ('hlt' in step) this.halted = true;
    else if ('sti' in step) this.flags |= IF;
    else if ('cli' in step) this.flags &= ~IF;
    else if ('tripleFault' in step) this.shutdown = true;
    else if ('spin' in step) this.spinLeft = step.spin;
  }
}

/** Steps that print `text` on COM1. */
export function serialSteps(text: string): FakeStep[] {
  return [...text].map((c) => ({ out: 0x3f8, value: c.charCodeAt(0) }));
}
