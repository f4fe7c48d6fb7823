// The IA-32 core: builds the CPU and runs it. The run loop over the decoded-instruction cache, event
// windows at instruction boundaries, and fault escalation live here; state and memory access in cpu-state.ts.

import { type DecodeInfo, Seg } from './decoder.js';
import { Flag, LazyOp, Lz } from './flags.js';
import { Vector, deliverEvent, deliverPendingFault, EventKind } from './interrupts.js';
import { MsrFile } from './msr.js';
import { FAULT, VMEXIT } from './fault.js';
import { CodeCache, decodeInfo } from './code-cache.js';
import { Translator } from './translator.js';
import { Reg, hex4, hex8 } from './registers.js';
import { CpuState, type CpuOptions } from './cpu-state.js';

export { Reg, R8, hex4, hex8 } from './registers.js';
export { FAULT } from './fault.js';
export { TLB_READ, TLB_WRITE, type CpuOptions } from './cpu-state.js';

/** Why run() returned. */
export type CpuStop = 'limit' | 'halt' | 'stop' | 'shutdown' | 'vmexit';

const CR0_PE = 1;

export class Cpu extends CpuState {
  constructor(options: CpuOptions) {
    super(options);
    this.msr = new MsrFile(this);
    this.translator = options.translate === false ? null : new Translator(this.table.handlers);
    this.code = new CodeCache(this);
    this.memory.codeListener = this.code;
    this.reset();
  }

  /** Power-on state (SDM Vol. 3 table 9-1) as far as protected-mode-only matters: see enterMultibootState. */
  reset(): void {
    this.reg32.fill(0);
    this.reg32[Reg.EDX] = 0x600;
    this.eip = 0xfff0;
    this.flags = Flag.FIXED1;
    this.lz[Lz.Op] = LazyOp.None;
    this.cr0 = 0x60000010;
    this.cr2 = this.cr3 = this.cr4 = 0;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0;
      this.segBase[s] = 0;
      this.segLimit[s] = 0xffff;
      this.segAr[s] = 0x93;
    }
    this.segSel[Seg.CS] = 0xf000;
    this.segBase[Seg.CS] = 0xffff0000 | 0;
    this.segAr[Seg.CS] = 0x9b;
    this.updateSegChecks();
    this.halted = false;
    this.shutdown = false;
    this.shadow = 0;
    this.nmiPending = this.nmiBlocked = this.iretUnblockedNmi = this.iretKeepsNmiBlocking = false;
    this.nonRoot = this.stepping = false;
    this.gpa = null;
    this.guestTscOffset = this.cr0Fixed0 = this.cr4Fixed0 = 0;
    this.delivering = 0;
    this.vmx?.reset();
    this.flushTlb();
  }

  /** The multiboot entry state (devices.md 4.2): flat 32-bit segments, PE on, paging off, IF off. */
  enterMultibootState(entry: number, mbiAddress: number): void {
    this.reset();
    this.cr0 = 0x60000010 | CR0_PE;
    this.reg32[Reg.EAX] = 0x2badb002;
    this.reg32[Reg.EBX] = mbiAddress | 0;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = s === Seg.CS ? 0x08 : 0x10;
      this.segBase[s] = 0;
      this.segLimit[s] = -1;
      this.segAr[s] = s === Seg.CS ? 0xc09b : 0xc093;
    }
    this.updateSegChecks();
    this.eip = entry | 0;
    this.flushTlb();
  }

  // ------------------------------------------------------------------ run loop

  /** Runs until the cycle clock reaches untilCycle, or the CPU halts, shuts down or is asked to stop. */
  run(untilCycle: number): CpuStop {
    const sched = this.scheduler;
    this.cycles = sched.now;
    this.budget = this.slice = this.extra = 0;
    for (;;) {
      if (this.shutdown) return this.leave('shutdown');
      if (this.stopRequested) {
        this.stopRequested = false;
        return this.leave('stop');
      }
      if (this.exitToApi) {
        // A VM exit to the hypervisor written in TypeScript (vmx/): it handles the exit and resumes.
        this.exitToApi = false;
        return this.leave('vmexit');
      }
      // A timer the guest armed during the last slice may be due before untilCycle.
      const limit = Math.min(untilCycle, sched.nextDeadline());
      if (this.cycles >= limit) return this.leave('limit');
      // VMX non-root: MTF, preemption timer, NMI/interrupt windows and interrupt exiting come first.
      if (this.nonRoot && this.vmx!.boundary()) continue;
      // NMI (SDM Vol. 3 6.7.1): blocked after one until IRET, and by the MOV SS shadow.
      if (this.nmiPending && !this.nmiBlocked && this.shadow !== 2) {
        this.nmiPending = false;
        this.halted = false;
        sched.now = this.cycles;
        this.instrEip = this.eip;
        this.runSlice(0, () => deliverEvent(this, Vector.NMI, EventKind.Nmi, false, 0));
        if (this.stepping && this.nonRoot) this.vmx!.afterStep(); // MTF: after the delivery (SDM Vol. 3 26.5.2)
        continue;
      }
      // Event window at the instruction boundary (SDM Vol. 3 6.9): external interrupts when IF=1 and
      // no STI/MOV SS shadow.
      if (this.shadow === 0 && (this.flags & Flag.IF) !== 0 && this.intc !== null && this.intc.hasInterrupt()) {
        this.halted = false;
        sched.now = this.cycles;
        const vector = this.intc.acknowledge();
        this.instrEip = this.eip; // a delivery fault returns here
        this.runSlice(0, () => deliverEvent(this, vector, EventKind.External, false, 0));
        if (this.stepping && this.nonRoot) this.vmx!.afterStep(); // MTF: after the delivery (SDM Vol. 3 26.5.2)
        continue;
      }
      if (this.halted) return this.leave('halt');
      const tf = (this.flags & Flag.TF) !== 0;
      const hadShadow = this.shadow;
      const traceExec = this.logger.enabled('exec');
      if (tf || hadShadow !== 0 || traceExec || this.stepping) {
        // -d exec: one line before every instruction (QEMU prints one per translated block).
        if (traceExec) this.logger.log('exec', `Trace 0: ${hex4(this.segSel[Seg.CS])}:${hex8(this.eip)} [${hex8(this.instructions)}]`);
        // One instruction at a time: the shadow ends after it, and TF traps after it. The shadow stays in effect
        // while the instruction it covers runs (VMLAUNCH checks blocking by MOV SS; a VM exit saves it in the
        // interruptibility state, SDM Vol. 3 28.3.4); shadows do not chain. A VM entry or exit set its own.
        this.eventDelivered = false;
        const wasNonRoot = this.nonRoot;
        const ok = this.runSlice(1, this.execLoopBound);
        const newShadow = this.shadow;
        if (hadShadow !== 0 && this.nonRoot === wasNonRoot) this.shadow = 0;
        if (ok && tf && !this.eventDelivered && !this.shutdown) {
          if (newShadow === 2 && hadShadow === 0) continue; // MOV SS delays the single-step trap
          this.dr6Before = this.dr6; // a #DB that causes a VM exit leaves DR6 unchanged (SDM Vol. 3 28.1)
          this.dr6 |= 1 << 14; // DR6.BS
          this.instrEip = this.eip;
          this.runSlice(0, () => deliverEvent(this, Vector.DB, EventKind.Exception, false, 0));
        }
        if (this.stepping && this.nonRoot) this.vmx!.afterStep(); // monitor trap flag
        continue;
      }
      this.runSlice(Math.min(limit - this.cycles, 1 << 28), this.execLoopBound);
    }
  }

  /**
   * Runs f (the hot loop, or an event delivery) in a slice of at most n cycles, then folds the time it
   * used, charges included, into `cycles`.
   */
  private runSlice(n: number, f: () => void): boolean {
    this.slice = this.budget = n | 0;
    this.extra = 0;
    this.inSlice = true;
    const ok = this.guard(f);
    this.inSlice = false;
    const used = this.slice - this.budget;
    this.cycles += used;
    this.retired += used - this.extra;
    this.slice = this.budget = this.extra = 0;
    return ok;
  }

  private readonly execLoopBound = (): void => this.execLoop();

  private leave(stop: CpuStop): CpuStop {
    this.scheduler.now = this.cycles;
    return stop;
  }

  /** Runs f; a fault it raises is delivered (with #DF / triple-fault escalation). Returns false on a fault. */
  private guard(f: () => void): boolean {
    try {
      f();
      return true;
    } catch (e) {
      if (e === VMEXIT) {
        this.iretUnblockedNmi = false;
        return false; // the CPU already holds the host state
      }
      if (e !== FAULT) throw e;
      this.eip = this.instrEip;
      try {
        deliverPendingFault(this);
      } catch (e2) {
        if (e2 !== VMEXIT) throw e2; // the exception bitmap, or a triple fault, in a VMX guest
      }
      this.iretUnblockedNmi = false; // the fault was a fault on IRET only for the exit just taken, if any
      return false;
    }
  }

  /**
   * The hot loop. Consecutive cached instructions of one page are chained (seq[s] = 1: slot s + 1 is
   * the instruction after s), so straight-line code runs without a fetch lookup; a taken branch, an
   * invalidated slot or the end of the slice goes back through the page map.
   */
  private execLoop(): void {
    const d = this.d;
    const op = d.op;
    const len = d.len;
    const seq = d.seq;
    const handlers = this.table.handlers;
    const tr = this.translator;
    const code = this.code;
    let s = 0;
    let prev = 0;
    while (this.budget > 0) {
      const eip = this.eip;
      this.instrEip = eip;
      if (s === 0) {
        const lin = (this.segBase[Seg.CS] + eip) | 0;
        const off = (lin - code.fetchLin) | 0;
        if (off >>> 0 < 4096) s = code.fetchMap[off];
        if (s === 0) s = code.fetchSlow(lin);
        // Chain a fall-through from the same page whose slot happens to be the previous one + 1.
        if (prev > 1 && s === prev + 1 && (lin & 0xfff) >= len[prev]) seq[prev] = 1;
        if (tr !== null && s > 1 && seq[s] !== 0) {
          const block = tr.get(s) ?? tr.visit(this, s);
          if (block !== undefined) {
            block(this);
            prev = s = 0;
            continue;
          }
        }
      }
      const next = (eip + len[s]) | 0;
      this.eip = next;
      handlers[op[s]](this, s);
      this.budget--;
      if (this.eip === next) {
        prev = s;
        s = seq[s] !== 0 ? s + 1 : 0;
      } else {
        prev = s = 0;
      }
    }
  }

  /**
   * Whether a halted CPU can still be woken by an interrupt: RFLAGS.IF, or in a VMX guest whatever its
   * controls make a wake-up event (external-interrupt exiting, the preemption timer; SDM Vol. 3 26.7).
   */
  interruptible(): boolean {
    return this.nonRoot ? this.vmx!.wakeable() : (this.flags & Flag.IF) !== 0;
  }

  /** Decodes without executing or caching (debugger, iced-x86 oracle). Returns null for #UD. */
  static decodeInfo(bytes: Uint8Array): DecodeInfo | null {
    return decodeInfo(bytes);
  }

  /** Statistics of the decoded-instruction cache. */
  get smcInvalidations(): number {
    return this.code.smcInvalidations;
  }

  flushDecodeCache(): void {
    this.code.flush();
  }

}
