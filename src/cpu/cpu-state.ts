// The IA-32 core's architectural state and its access paths: registers, lazy EFLAGS, segment caches,
// control registers, the simulated time of the current slice, and inline linear-memory fast paths. The run
// loop that drives it is cpu.ts'; slow paths are tlb.ts', decoding and caching decoder.ts'/code-cache.ts'.

import type { PortBus } from '../core/bus.js';
import type { InterruptController } from '../core/irq.js';
import type { PhysicalMemory } from '../core/physical-memory.js';
import type { Scheduler } from '../core/scheduler.js';
import { type Logger, NULL_LOGGER } from '../core/tracer.js';
import type { CodeCache } from './code-cache.js';
import { type CpuFeatures, LEAF1_EDX } from './cpuid.js';
import { type CompiledTable, DecodeCache, Seg } from './decoder.js';
import { formatRegisters } from './dump.js';
import { FAULT } from './fault.js';
import { ARITH_FLAGS, Flag, LazyOp, Lz, lazyFlags } from './flags.js';
import { Vector } from './interrupts.js';
import type { MsrFile } from './msr.js';
import { TABLE } from './optable.js';
import { Reg } from './registers.js';
import { flushTlb, flushTlbPage, readSlow, rmwSlow, translate, writeSlow } from './tlb.js';
import type { Translator } from './translator.js';
import type { GuestPhysical, VmxHooks } from './vmx-hooks.js';

export interface CpuOptions {
  memory: PhysicalMemory;
  ports: PortBus;
  scheduler: Scheduler;
  logger?: Logger;
  /** Translate hot instruction chains into JavaScript functions (default true); false = pure interpreter. */
  translate?: boolean;
}

/** TLB entry bits (low 12 bits of an entry whose high 20 bits are the RAM page frame). */
export const TLB_READ = 1;
export const TLB_WRITE = 2;

export abstract class CpuState {
  readonly memory: PhysicalMemory;
  readonly ports: PortBus;
  readonly scheduler: Scheduler;
  logger: Logger;
  intc: InterruptController | null = null;
  /** CPUID leaf 1 feature bits (the board adds those of the devices it wires, e.g. the local APIC). */
  readonly features: CpuFeatures = { leaf1Ecx: 0, leaf1Edx: LEAF1_EDX };
  /** Built by Cpu's constructor (they need the finished Cpu). */
  msr!: MsrFile;

  // --- General registers (typed views of one buffer) ---
  readonly reg32 = new Int32Array(8);
  readonly reg16 = new Uint16Array(this.reg32.buffer);
  readonly reg8 = new Uint8Array(this.reg32.buffer);
  eip = 0;
  /** EIP of the instruction being executed (faults restart here). */
  instrEip = 0;

  // --- EFLAGS: `flags` holds every bit; the six status bits are stale while lz[Lz.Op] !== None ---
  flags = Flag.FIXED1;
  /** The last flag-setting operation (Lz.Op), its operands and result: typed storage, no boxed doubles. */
  readonly lz = new Int32Array(4);

  // --- Segment registers (ES CS SS DS FS GS) with their descriptor caches; AR in the VMCS layout ---
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6); // compare with >>> 0
  readonly segAr = new Int32Array(6);
  /** Bit per segment whose accesses need limit/type checks (not flat base-0, 4 GiB, writable). */
  segChecked = 0;
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trAr = 0;
  cpl = 0;
  /** The descriptor last read by segments.readDescriptor, and where it is. */
  descLo = 0;
  descHi = 0;
  descAddr = 0;

  // --- Control registers ---
  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  dr6 = 0xffff0ff0;
  dr7 = 0x400;

  // --- Execution control ---
  /** Instructions retired before the current slice (see `instructions`). */
  protected retired = 0;
  /**
   * Time inside run(): `cycles` is the clock at the start of the current slice, `budget` the cycles left
   * in it and `slice` its length, so now() = cycles + slice - budget. `budget` stays a small integer (a
   * V8 Smi), which keeps the per-instruction count cheap. breakLoop() ends the slice early.
   */
  cycles = 0;
  budget = 0;
  protected slice = 0;
  /** Cycles charged beyond one per instruction in this slice (instruction classes, REP iterations). */
  protected extra = 0;
  halted = false;
  shutdown = false;
  shutdownReason = '';
  stopRequested = false;
  /** 1: STI shadow, 2: MOV SS / POP SS shadow (SDM Vol. 3 6.8.3); cleared after one instruction. */
  shadow = 0;
  /** Set when an event was delivered during the current instruction (suppresses the TF trap). */
  eventDelivered = false;

  // --- Pending exception (set by raise, consumed by run's catch) ---
  pendingVector = -1;
  pendingError = 0;
  pendingHasError = false;

  // --- TLB: one entry per linear page; flushed through the list of filled entries ---
  readonly tlb = new Int32Array(1 << 20);
  readonly tlbFilled = new Int32Array(4096);
  tlbCount = 0;

  // --- Decoded-instruction cache ---
  readonly d = new DecodeCache();
  readonly table: CompiledTable = TABLE;
  /** Which physical pages hold decoded instructions, and the fetch fast path (code-cache.ts). */
  code!: CodeCache;
  readonly ram8: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly ramView: DataView;
  readonly codePages: Uint8Array;
  /** Bumped by anything that may make a decoded or translated instruction stale (SMC, TLB, CS). */
  codeGen = 0;
  translator!: Translator | null;

  // --- Cold state, declared after the hot fields so that those keep their in-object slots (V8) ---
  // VMX (vmx/ installs these; null on a CPU without VMX).
  vmx: VmxHooks | null = null;
  /** In VMX non-root operation: the intercepts in `vmx` apply (one predictable branch on each hook). */
  nonRoot = false;
  /** Guest-physical translation (EPT) while in non-root operation with EPT enabled, else null. */
  gpa: GuestPhysical | null = null;
  /** Added to the TSC the guest reads (VMCS TSC offset with "use TSC offsetting"); 0 in root operation. */
  guestTscOffset = 0;
  /** Run one instruction per loop iteration and call vmx.afterStep (monitor trap flag). */
  stepping = false;
  /** CR4 bits MOV to CR4 accepts: PSE, plus VMXE when the board gives the CPU VMX. */
  cr4Supported = 1 << 4;
  /** CR0/CR4 bits that must stay 1 (IA32_VMX_CR*_FIXED0 in VMX operation; 0 outside it). */
  cr0Fixed0 = 0;
  cr4Fixed0 = 0;
  /** The event being delivered (interruption-information format), for IDT-vectoring information; 0 when none. */
  delivering = 0;
  deliveringError = 0;
  /** The length of the INT n / INT3 / INTO / INT1 being delivered (VM-exit instruction length), else 0. */
  deliveringLength = 0;
  /** An NMI is latched (raiseNmi) / NMIs are blocked until the next IRET (SDM Vol. 3 6.7.1). */
  nmiPending = false;
  nmiBlocked = false;
  /**
   * The IRET being executed ended NMI blocking (virtual-NMI blocking in a guest with virtual NMIs): IRET unblocks
   * even if it then faults (SDM Vol. 3 6.7.1), and a VM exit for that fault reports "NMI unblocking due to IRET"
   * (SDM Vol. 3 28.2.3). Cleared when the IRET completes or its fault has been handled.
   */
  iretUnblockedNmi = false;
  /** VMX non-root operation with "NMI exiting" = 1 and "virtual NMIs" = 0: IRET leaves NMI blocking alone (SDM Vol. 3 26.3). */
  iretKeepsNmiBlocking = false;

  /** True inside run()'s slices: charge() then counts toward the clock (else callers advance the scheduler). */
  inSlice = false;
  /** CR2 before the last #PF wrote it (restored when the #PF causes a VM exit instead). */
  cr2Before = 0;
  /** DR6 before the single-step trap set BS (restored when the #DB causes a VM exit instead). */
  dr6Before = 0xffff0ff0;
  /** Set by a VM exit to a host written in TypeScript: run() returns 'vmexit' at the next boundary. */
  exitToApi = false;

  constructor(options: CpuOptions) {
    this.memory = options.memory;
    this.ports = options.ports;
    this.scheduler = options.scheduler;
    this.logger = options.logger ?? NULL_LOGGER;
    this.ram8 = this.memory.u8;
    this.ram16 = new Uint16Array(this.memory.buffer);
    this.ram32 = this.memory.i32;
    this.ramView = this.memory.view;
    this.codePages = this.memory.codePages;
  }

  /** The current cycle, inside or outside run(). */
  now(): number {
    return this.cycles + this.slice - this.budget;
  }

  /** Instructions retired (faulting instructions do not count; a REP instruction counts once per slice). */
  get instructions(): number {
    return this.retired + this.slice - this.budget - this.extra;
  }

  /** Ends the current slice after this instruction, so that run() re-checks events and time. */
  breakLoop(): void {
    this.slice -= this.budget;
    this.budget = 0;
  }

  /** Charges n cycles beyond the one every instruction costs. */
  charge(n: number): void {
    this.budget -= n;
    this.extra += n;
  }

  triggerShutdown(reason: string): void {
    this.shutdown = true;
    this.shutdownReason = reason;
    this.breakLoop();
    if (this.logger.enabled('cpu_reset')) this.logger.log('cpu_reset', `CPU Reset (${reason})\n${this.formatRegisters()}`);
  }

  // ------------------------------------------------------------------ faults

  /** Records an exception and unwinds the current instruction. */
  raise(vector: number, error?: number): never {
    this.pendingVector = vector;
    this.pendingHasError = error !== undefined;
    this.pendingError = error ?? 0;
    throw FAULT;
  }

  // ------------------------------------------------------------------ flags

  getFlags(): number {
    if (this.lz[Lz.Op] !== LazyOp.None) {
      this.flags = (this.flags & ~ARITH_FLAGS) | lazyFlags(this.lz[Lz.Op], this.lz[Lz.A], this.lz[Lz.B], this.lz[Lz.Res], this.flags);
      this.lz[Lz.Op] = LazyOp.None;
    }
    return this.flags;
  }

  getCF(): number {
    switch (this.lz[Lz.Op]) {
      case LazyOp.None:
      case LazyOp.Inc:
      case LazyOp.Dec:
        return this.flags & Flag.CF;
      case LazyOp.Add:
        return this.lz[Lz.Res] >>> 0 < this.lz[Lz.A] >>> 0 ? 1 : 0;
      case LazyOp.Adc:
        return this.lz[Lz.Res] >>> 0 <= this.lz[Lz.A] >>> 0 ? 1 : 0;
      case LazyOp.Sub:
        return this.lz[Lz.A] >>> 0 < this.lz[Lz.B] >>> 0 ? 1 : 0;
      case LazyOp.Sbb:
        return this.lz[Lz.A] >>> 0 <= this.lz[Lz.B] >>> 0 ? 1 : 0;
      default:
        return 0;
    }
  }

  getZF(): boolean {
    return this.lz[Lz.Op] !== LazyOp.None ? this.lz[Lz.Res] === 0 : (this.flags & Flag.ZF) !== 0;
  }

  /** Replaces the six status flags (for instructions that compute them eagerly). */
  setArith(f: number): void {
    this.lz[Lz.Op] = LazyOp.None;
    this.flags = (this.flags & ~ARITH_FLAGS) | (f & ARITH_FLAGS);
  }

  /** Sets the whole of EFLAGS (POPF, IRET, task state); the caller masks what may change. */
  setFlags(v: number): void {
    const oldIf = this.flags & Flag.IF;
    this.lz[Lz.Op] = LazyOp.None;
    this.flags = (v & ~(Flag.FIXED1 | 0x8 | 0x20 | 0x8000 | 0xffc00000)) | Flag.FIXED1;
    if ((this.flags & Flag.IF) !== oldIf || (this.flags & Flag.TF) !== 0) this.breakLoop();
  }

  /** Evaluates condition code cc (the low nibble of Jcc/SETcc/CMOVcc; SDM Vol. 1 appendix B). */
  cond(cc: number): boolean {
    if (this.lz[Lz.Op] !== LazyOp.None) {
      switch (cc) {
        case 4:
          return this.lz[Lz.Res] === 0;
        case 5:
          return this.lz[Lz.Res] !== 0;
        case 8:
          return this.lz[Lz.Res] < 0;
        case 9:
          return this.lz[Lz.Res] >= 0;
        case 2:
          return this.getCF() !== 0;
        case 3:
          return this.getCF() === 0;
      }
    }
    const f = this.getFlags();
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = (f & Flag.OF) !== 0;
        break;
      case 1:
        r = (f & Flag.CF) !== 0;
        break;
      case 2:
        r = (f & Flag.ZF) !== 0;
        break;
      case 3:
        r = (f & (Flag.CF | Flag.ZF)) !== 0;
        break;
      case 4:
        r = (f & Flag.SF) !== 0;
        break;
      case 5:
        r = (f & Flag.PF) !== 0;
        break;
      case 6:
        r = ((f & Flag.SF) !== 0) !== ((f & Flag.OF) !== 0);
        break;
      default:
        r = (f & Flag.ZF) !== 0 || ((f & Flag.SF) !== 0) !== ((f & Flag.OF) !== 0);
        break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  // ------------------------------------------------------------------ segments and addresses

  /** Recomputes which segments need checks on every access. */
  updateSegChecks(): void {
    let m = 0;
    for (let s = 0; s < 6; s++) {
      const ar = this.segAr[s];
      const flatData = this.segBase[s] === 0 && this.segLimit[s] === -1 && (ar & 0x1a) === 0x12 && (ar & 0x80) !== 0;
      if (!flatData && s !== Seg.CS) m |= 1 << s;
    }
    this.segChecked = m;
    this.code.forgetFetchPage();
    this.codeGen = (this.codeGen + 1) | 0;
    this.breakLoop();
  }

  /** The effective address (offset) of a decoded memory operand. */
  offset(s: number): number {
    const d = this.d;
    let a = d.disp[s];
    const b = d.base[s];
    if (b < 8) a += this.reg32[b];
    const i = d.index[s];
    if (i < 8) a += this.reg32[i] << d.scale[s];
    return a | 0;
  }

  /** Linear address of a decoded memory operand of `size` bytes, with the segment checks. */
  ea(s: number, size: number, write: boolean): number {
    const seg = this.d.seg[s];
    const off = this.offset(s);
    if ((this.segChecked & (1 << seg)) !== 0) this.checkSegment(seg, off, size, write);
    return (this.segBase[seg] + off) | 0;
  }

  /** Linear address of seg:off for `size` bytes (string instructions, stack). */
  lin(seg: number, off: number, size: number, write: boolean): number {
    if ((this.segChecked & (1 << seg)) !== 0) this.checkSegment(seg, off, size, write);
    return (this.segBase[seg] + off) | 0;
  }

  /** Segment limit and type checks (SDM Vol. 3 5.3 and 5.5): #GP(0), or #SS(0) for SS. */
  checkSegment(seg: number, off: number, size: number, write: boolean): void {
    const ar = this.segAr[seg];
    const fault = seg === Seg.SS ? Vector.SS : Vector.GP;
    if ((ar & 0x10000) !== 0 || (ar & 0x80) === 0 || this.segSel[seg] < 4) {
      if (seg !== Seg.CS) this.raise(fault, 0); // null or unusable segment
    }
    const type = ar & 0xf;
    if (write && ((type & 8) !== 0 || (type & 2) === 0)) this.raise(fault, 0);
    if (!write && (type & 0xa) === 0x8) this.raise(fault, 0); // execute-only code
    const limit = this.segLimit[seg] >>> 0;
    const first = off >>> 0;
    const last = (off + size - 1) >>> 0;
    if ((type & 0xc) === 0x4) {
      // Expand-down data: valid offsets are (limit, upper] with upper 0xffffffff when B=1.
      const upper = (ar & 0x4000) !== 0 ? 0xffffffff : 0xffff;
      if (first <= limit || last > upper || last < first) this.raise(fault, 0);
    } else if (last > limit || last < first) {
      this.raise(fault, 0);
    }
  }

  // ------------------------------------------------------------------ linear memory

  read8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_READ) !== 0) return this.ram8[(e & ~0xfff) | (lin & 0xfff)];
    return readSlow(this, lin, 1);
  }

  read16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_READ) !== 0 && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return (pa & 1) === 0 ? this.ram16[pa >> 1] : this.ramView.getUint16(pa, true);
    }
    return readSlow(this, lin, 2);
  }

  read32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_READ) !== 0 && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return (pa & 3) === 0 ? this.ram32[pa >> 2] : this.ramView.getInt32(pa, true);
    }
    return readSlow(this, lin, 4);
  }

  write8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[pa >> 12] !== 0) this.code.codeWritten(pa, 1);
      this.ram8[pa] = v;
      return;
    }
    writeSlow(this, lin, 1, v);
  }

  write16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0 && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[pa >> 12] !== 0) this.code.codeWritten(pa, 2);
      if ((pa & 1) === 0) this.ram16[pa >> 1] = v;
      else this.ramView.setUint16(pa, v, true);
      return;
    }
    writeSlow(this, lin, 2, v);
  }

  write32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0 && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      if (this.codePages[pa >> 12] !== 0) this.code.codeWritten(pa, 4);
      if ((pa & 3) === 0) this.ram32[pa >> 2] = v;
      else this.ramView.setInt32(pa, v, true);
      return;
    }
    writeSlow(this, lin, 4, v);
  }

  /** Reads for a read-modify-write: checks write access first so the later write cannot fault. */
  rmw8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0) return this.ram8[(e & ~0xfff) | (lin & 0xfff)];
    return rmwSlow(this, lin, 1);
  }

  rmw16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0 && (lin & 0xfff) !== 0xfff) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return (pa & 1) === 0 ? this.ram16[pa >> 1] : this.ramView.getUint16(pa, true);
    }
    return rmwSlow(this, lin, 2);
  }

  rmw32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & TLB_WRITE) !== 0 && (lin & 0xfff) <= 0xffc) {
      const pa = (e & ~0xfff) | (lin & 0xfff);
      return (pa & 3) === 0 ? this.ram32[pa >> 2] : this.ramView.getInt32(pa, true);
    }
    return rmwSlow(this, lin, 4);
  }

  /** Linear to physical for an access (SDM Vol. 3 4.3), filling the TLB; raises #PF. */
  translate(lin: number, write: boolean): number {
    return translate(this, lin, write);
  }

  /** Linear to physical for an instruction fetch (EPT execute permission in a VMX guest). */
  translateFetch(lin: number): number {
    return translate(this, lin, false, true);
  }

  /** Drops every TLB entry (MOV CR3, CR0.PG/WP, CR4 paging bits). */
  flushTlb(): void {
    flushTlb(this);
  }

  /** INVLPG. */
  flushTlbPage(lin: number): void {
    flushTlbPage(this, lin);
  }

  // ------------------------------------------------------------------ stack

  push32(v: number): void {
    const esp = (this.reg32[Reg.ESP] - 4) | 0;
    this.write32(this.lin(Seg.SS, esp, 4, true), v);
    this.reg32[Reg.ESP] = esp;
  }

  push16(v: number): void {
    const esp = (this.reg32[Reg.ESP] - 2) | 0;
    this.write16(this.lin(Seg.SS, esp, 2, true), v);
    this.reg32[Reg.ESP] = esp;
  }

  pop32(): number {
    const esp = this.reg32[Reg.ESP];
    const v = this.read32(this.lin(Seg.SS, esp, 4, false));
    this.reg32[Reg.ESP] = (esp + 4) | 0;
    return v;
  }

  pop16(): number {
    const esp = this.reg32[Reg.ESP];
    const v = this.read16(this.lin(Seg.SS, esp, 2, false));
    this.reg32[Reg.ESP] = (esp + 2) | 0;
    return v;
  }

  // ------------------------------------------------------------------ I/O

  /** Port input: the device sees the current simulated time; the run loop re-checks interrupts after. */
  portIn(port: number, size: 1 | 2 | 4): number {
    this.scheduler.now = this.now();
    this.breakLoop();
    return this.ports.read(port & 0xffff, size);
  }

  portOut(port: number, size: 1 | 2 | 4, v: number): void {
    this.scheduler.now = this.now();
    this.breakLoop();
    this.ports.write(port & 0xffff, size, size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff));
  }

  /** Asks run() to return 'stop' at the next instruction boundary (debug-exit, debugger). */
  requestStop(): void {
    this.stopRequested = true;
    this.breakLoop();
  }

  /** The NMI pin (SDM Vol. 3 6.7): latched, taken at the next instruction boundary unless blocked. */
  raiseNmi(): void {
    this.nmiPending = true;
    this.breakLoop();
  }

  /** TSC: the simulated cycle clock (RDTSC, IA32_TSC), plus the VMCS TSC offset in a guest that uses it. */
  tsc(): number {
    return this.now() + this.msr.tscOffset + this.guestTscOffset;
  }

  formatRegisters(): string {
    return formatRegisters(this);
  }
}
