// Test helper: a fluent runner for instruction-level CPU tests (STYLE rule 10) and the bare machine under it.
// It owns a flat protected-mode test machine with a recording IDT; what instructions mean is src/cpu's.
//
//   const r = cpuRunner().bytes([0x01, 0xd8]).regs({ eax: 1, ebx: 2 }).flags(0x2).step();
//   expect(r.eax).toBe(3);
//   const e = cpuRunner().asm('xor ebx, ebx\ndiv ebx').step();
//   expect(e.exception).toBe(0); expect(e.frameEip).toBe(CODE_BASE + 2);
//
// Guest memory layout (16 MiB RAM, paging off, flat segments 0x08 code / 0x10 data):
//   GDT_BASE   null, flat code, flat data descriptors
//   IDT_BASE   32 interrupt gates; gate v points at STUB_BASE + v, a one-byte `hlt`
//   STUB_BASE  the 32 `hlt` stubs: a delivered exception halts at STUB_BASE + v + 1, which names v
//   CODE_BASE  the instruction bytes under test
//   DATA_BASE  free for memory operands
//   STACK_TOP  initial ESP

import { PortBus } from '../../src/core/bus.js';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { assemble } from '../../src/asm/index.js';

export const GDT_BASE = 0x800;
export const IDT_BASE = 0x1000;
export const STUB_BASE = 0x1800;
export const CODE_BASE = 0x10000;
export const DATA_BASE = 0x20000;
export const STACK_TOP = 0x90000;
const STUBS = 32;

/** The six status flags (SDM Vol. 1 3.4.3.1). */
export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;

/** Names of reg32[0..7], in ModRM encoding order. */
export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type RegName = (typeof REG_NAMES)[number];
export type Regs = Partial<Record<RegName, number>>;

/** Vectors that push an error code (SDM Vol. 3 table 6-1). */
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** A flat 32-bit machine with the recording IDT; the oracle tests drive it directly for speed. */
export class TestMachine {
  readonly memory = new PhysicalMemory(16 << 20);
  readonly ports = new PortBus();
  readonly scheduler = new Scheduler();
  readonly cpu: Cpu;
  /** EIP just past the loaded code: where step() stops by default. */
  codeEnd = CODE_BASE;

  constructor() {
    this.cpu = new Cpu({ memory: this.memory, ports: this.ports, scheduler: this.scheduler });
    const gdt = new DataView(new ArrayBuffer(24));
    // Flat 4 GiB descriptors: code (type 0xA, exec/read) and data (type 0x2, read/write), DPL 0, G=1, D/B=1.
    gdt.setUint32(8, 0x0000ffff, true);
    gdt.setUint32(12, 0x00cf9a00, true);
    gdt.setUint32(16, 0x0000ffff, true);
    gdt.setUint32(20, 0x00cf9200, true);
    this.memory.writeBytes(GDT_BASE, new Uint8Array(gdt.buffer));
    const idt = new DataView(new ArrayBuffer(STUBS * 8));
    for (let v = 0; v < STUBS; v++) {
      const target = STUB_BASE + v;
      // 32-bit interrupt gate (SDM Vol. 3 figure 6-2): selector 0x08, P=1, DPL=0, type 0xE.
      idt.setUint32(v * 8, (0x08 << 16) | (target & 0xffff), true);
      idt.setUint32(v * 8 + 4, ((target & 0xffff0000) | 0x8e00) >>> 0, true);
    }
    this.memory.writeBytes(IDT_BASE, new Uint8Array(idt.buffer));
    this.memory.writeBytes(STUB_BASE, new Uint8Array(STUBS).fill(0xf4));
    this.reset();
  }

  /** Multiboot entry state at CODE_BASE with this machine's GDT/IDT and stack. */
  reset(): void {
    const cpu = this.cpu;
    cpu.enterMultibootState(CODE_BASE, 0);
    cpu.gdtBase = GDT_BASE;
    cpu.gdtLimit = 3 * 8 - 1;
    cpu.idtBase = IDT_BASE;
    cpu.idtLimit = STUBS * 8 - 1;
    cpu.reg32.fill(0);
    cpu.reg32[4] = STACK_TOP;
    cpu.setFlags(0x2);
  }

  /** Writes code at CODE_BASE (the decode cache hears about it) and points EIP at it. */
  load(code: ArrayLike<number>): void {
    this.memory.writeBytes(CODE_BASE, Uint8Array.from(code));
    this.codeEnd = CODE_BASE + code.length;
    this.cpu.eip = CODE_BASE;
  }

  /**
   * The vector of the exception the last run delivered, or -1. Delivery jumps to the vector's stub and
   * runOne() goes on to execute its `hlt`, so a delivered exception leaves the CPU halted just past the stub.
   */
  exceptionVector(): number {
    const v = this.cpu.eip - 1 - STUB_BASE;
    return this.cpu.halted && v >= 0 && v < STUBS ? v : -1;
  }

  /**
   * The oracle's fast path: EIP to CODE_BASE, the given reg32 values and flags, one instruction. Returns the
   * exception vector or -1.
   */
  execOnce(regs: ArrayLike<number>, flags: number): number {
    const cpu = this.cpu;
    for (let i = 0; i < 8; i++) cpu.reg32[i] = regs[i];
    cpu.setFlags(flags);
    cpu.halted = false;
    cpu.eip = CODE_BASE;
    this.runOne();
    return this.exceptionVector();
  }

  /**
   * One instruction. Delivering an exception costs cycles of its own (src/cpu/costs.ts), so when one was
   * delivered, run on to the stub's `hlt`.
   */
  runOne(): void {
    const cpu = this.cpu;
    cpu.run(this.scheduler.now + 1);
    const stub = (cpu.eip >>> 0) - STUB_BASE;
    if (!cpu.halted && !cpu.shutdown && stub >= 0 && stub < STUBS) cpu.run(this.scheduler.now + 1);
  }

  read32(addr: number): number {
    return this.memory.view.getUint32(addr >>> 0, true);
  }
}

/** What a run left behind: registers and flags copied at the stop; memory is read live. */
export class RunResult {
  readonly eax: number;
  readonly ecx: number;
  readonly edx: number;
  readonly ebx: number;
  readonly esp: number;
  readonly ebp: number;
  readonly esi: number;
  readonly edi: number;
  readonly eip: number;
  readonly flags: number;
  /** Instructions executed by this step() call (the exception stub's hlt included). */
  readonly steps: number;
  /** Halted by a `hlt` in the code under test (not an exception stub). */
  readonly halted: boolean;
  /** Vector of a delivered exception, or null. */
  readonly exception: number | null;
  /** The error code an exception pushed, or null. */
  readonly errorCode: number | null;
  /** The EIP saved in the exception frame (the faulting instruction for faults), or null. */
  readonly frameEip: number | null;

  constructor(
    readonly machine: TestMachine,
    steps: number,
  ) {
    const cpu = machine.cpu;
    const r = Array.from(cpu.reg32, (x) => x >>> 0);
    [this.eax, this.ecx, this.edx, this.ebx, this.esp, this.ebp, this.esi, this.edi] = r;
    this.eip = cpu.eip >>> 0;
    this.flags = cpu.getFlags();
    this.steps = steps;
    const v = machine.exceptionVector();
    this.exception = v >= 0 ? v : null;
    this.halted = cpu.halted && v < 0;
    if (v >= 0 && HAS_ERROR_CODE.has(v)) {
      this.errorCode = machine.read32(this.esp);
      this.frameEip = machine.read32(this.esp + 4);
    } else {
      this.errorCode = null;
      this.frameEip = v >= 0 ? machine.read32(this.esp) : null;
    }
  }

  reg(name: RegName): number {
    return this[name];
  }

  /** `len` bytes of guest memory at a physical address, as they are now. */
  memory(addr: number, len: number): Uint8Array {
    return this.machine.memory.readBytes(addr, len) ?? new Uint8Array(0);
  }

  read32(addr: number): number {
    return this.machine.read32(addr);
  }
}

/** The fluent builder: each call applies to the machine at once, so step() can be called again to continue. */
export class CpuRunner {
  readonly machine = new TestMachine();
  private limit = 10_000;

  get cpu(): Cpu {
    return this.machine.cpu;
  }

  /** Loads instruction bytes at CODE_BASE and points EIP at them. */
  bytes(code: ArrayLike<number>): this {
    this.machine.load(code);
    return this;
  }

  /** Assembles NASM-syntax source (bits 32, org CODE_BASE) with src/asm and loads it. */
  asm(source: string): this {
    const out = assemble(`bits 32\norg ${CODE_BASE}\n${source}\n`, { fileName: 'cpu-runner.asm' });
    if (!out.ok) throw new Error(`cpu-runner: assembly failed:\n${out.errors.map((e) => `${e.line}: ${e.message}`).join('\n')}`);
    return this.bytes(out.bytes);
  }

  regs(values: Regs): this {
    for (const [name, v] of Object.entries(values)) {
      const i = REG_NAMES.indexOf(name as RegName);
      if (i < 0) throw new Error(`cpu-runner: unknown register ${name}`);
      this.cpu.reg32[i] = v as number;
    }
    return this;
  }

  /** Sets EFLAGS (bit 1 is forced on by the CPU). */
  flags(v: number): this {
    this.cpu.setFlags(v);
    return this;
  }

  mem(addr: number, bytes: ArrayLike<number>): this {
    this.machine.memory.writeBytes(addr, Uint8Array.from(bytes));
    return this;
  }

  mem32(addr: number, value: number): this {
    this.machine.memory.view.setUint32(addr >>> 0, value >>> 0, true);
    return this;
  }

  /** Upper bound on instructions for step() without a count (default 10,000). */
  maxSteps(n: number): this {
    this.limit = n;
    return this;
  }

  /**
   * Runs `count` instructions, or (without a count) until EIP reaches the end of the loaded code; stops
   * early on an exception, a `hlt` or shutdown. Throws if the bound is hit without reaching the end.
   */
  step(count?: number): RunResult {
    const m = this.machine;
    const cpu = m.cpu;
    const max = count ?? this.limit;
    let n = 0;
    while (n < max) {
      if (count === undefined && cpu.eip >>> 0 === m.codeEnd) break;
      m.runOne();
      n++;
      if (cpu.halted || cpu.shutdown) break;
    }
    if (count === undefined && n >= max && cpu.eip >>> 0 !== m.codeEnd) {
      throw new Error(`cpu-runner: ${max} instructions without reaching EIP ${m.codeEnd.toString(16)} (at ${(cpu.eip >>> 0).toString(16)})`);
    }
    return new RunResult(m, n);
  }
}

export function cpuRunner(): CpuRunner {
  return new CpuRunner();
}
