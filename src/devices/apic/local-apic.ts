// The local APIC of the one CPU: IA32_APIC_BASE modes, the xAPIC MMIO page and the x2APIC MSRs, IRR/ISR/TMR
// priority and acceptance, ICR/SELF IPI, ESR, LVTs, MSI reception. Mapping and CPU wiring are machine/'s.

import { type AccessSize, type BusDevice, allOnes } from '../../core/bus.js';
import { MSI_WINDOW_BASE, MSI_WINDOW_MASK, type MsiSink } from '../../core/dma.js';
import type { InterruptController } from '../../core/irq.js';
import type { MsrDevice } from '../../core/msr-bus.js';
import { matchX2apic, matchXapic, x2apicLdr } from './apic-destination.js';
import {
  APIC_BASE_ADDRESS_MASK_LO,
  APIC_BASE_BSP,
  APIC_BASE_EN,
  APIC_BASE_EXTD,
  APIC_BASE_RESERVED_LO,
  APIC_DEFAULT_BASE,
  APIC_LVT_ENTRIES,
  APIC_MMIO_SIZE,
  APIC_VERSION,
  ApicMode,
  ApicMsr,
  ApicReg,
  DeliveryMode,
  EsrBit,
  FIRST_LEGAL_VECTOR,
  ICR_DELIVERY_STATUS,
  ICR_DEST_LOGICAL,
  ICR_HI_XAPIC_WRITABLE,
  ICR_LEVEL_ASSERT,
  ICR_LO_WRITABLE,
  ICR_SHORTHAND_SHIFT,
  ICR_TRIGGER_LEVEL,
  LVT_MASKED,
  LVT_RESET,
  LVT_TIMER_MODE_SHIFT,
  LVT_WRITABLE,
  SVR_APIC_ENABLED,
  SVR_RESET,
  SVR_VECTOR,
  SVR_WRITABLE,
  Shorthand,
  TDCR_WRITABLE,
  type TimerMode,
  X2APIC_ACCESS,
  X2APIC_RESERVED,
  X2Access,
} from './apic-registers.js';
import { ApicTimer } from './apic-timer.js';
import type { LocalApicOptions, LocalApicSnapshot, LocalApicStats } from './apic-types.js';
import { VectorSet } from './vector-set.js';

export type { LocalApicOptions, LocalApicSnapshot, LocalApicStats } from './apic-types.js';

const TWO_32 = 0x1_0000_0000;

/**
 * Choices among SDM-permitted behaviours (each cited where it is made):
 * - xAPIC ID is read-only (SDM 11.4.6: writability is model specific).
 * - A global disable (EN = 0) returns every register but the ID to its power-up state (SDM 11.4.3 "may").
 * - In x2APIC mode and when disabled the MMIO page behaves as a globally disabled xAPIC (SDM 11.12.2): reads
 *   all-ones (unbacked on this platform), writes ignored.
 * - A software-disabled APIC (SVR bit 8 = 0) keeps IRR/ISR, accepts no new fixed interrupts and presents none.
 * - SVR bits 3:0 are writable (P6 and later); focus-check bit 9 is stored; EOI-broadcast suppression unsupported.
 */
export class LocalApic implements BusDevice, MsrDevice, InterruptController, MsiSink {
  readonly name = 'lapic';
  readonly apicId: number;
  readonly stats: LocalApicStats = {
    accepted: 0,
    merged: 0,
    delivered: 0,
    spuriousAcks: 0,
    spuriousEois: 0,
    illegalVectors: 0,
    dropped: 0,
    ipis: 0,
    msis: 0,
    badMmio: 0,
  };
  readonly timer: ApicTimer;

  private mode = ApicMode.XApic;
  private baseLo: number;
  private baseHi = 0;
  private readonly baseHiMask: number;
  private tpr = 0;
  private svr = SVR_RESET;
  private ldr = 0;
  private dfr = 0xffffffff;
  /** ESR as software reads it, and the errors accumulated since the last ESR write (SDM 11.5.3). */
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(APIC_LVT_ENTRIES);
  private readonly irr = new VectorSet();
  private readonly isr = new VectorSet();
  private readonly tmr = new VectorSet();
  /** Cached answer of hasInterrupt(), recomputed on every change (the CPU asks at each instruction boundary). */
  private pending = false;

  private readonly onPending: (() => void) | null;
  private readonly onEoiBroadcast: ((vector: number) => void) | null;
  private readonly onBaseChange: ((base: number) => void) | null;

  constructor(options: LocalApicOptions) {
    const scheduler = options.scheduler;
    this.apicId = (options.apicId ?? 0) >>> 0;
    this.baseLo = (APIC_DEFAULT_BASE | APIC_BASE_EN | (options.bsp === false ? 0 : APIC_BASE_BSP)) >>> 0;
    const extraBits = Math.max(0, Math.min(32, (options.maxPhysAddrBits ?? 32) - 32));
    this.baseHiMask = extraBits === 32 ? 0xffffffff : (1 << extraBits) - 1;
    this.onPending = options.onInterruptPending ?? null;
    this.onEoiBroadcast = options.onEoiBroadcast ?? null;
    this.onBaseChange = options.onBaseChange ?? null;
    const tsc = options.tsc ?? ((): number => scheduler.now);
    this.timer = new ApicTimer(scheduler, tsc, () => this.timerExpired());
    this.resetRegisters();
  }

  // ---- IA32_APIC_BASE and modes (SDM 11.4.4, 11.12.5) ----

  get apicMode(): ApicMode {
    return this.mode;
  }

  /** The physical address of the xAPIC page (IA32_APIC_BASE bits MAXPHYADDR-1:12). */
  get baseAddress(): number {
    return this.baseHi * TWO_32 + ((this.baseLo & APIC_BASE_ADDRESS_MASK_LO) >>> 0);
  }

  private writeApicBase(lo: number, hi: number): boolean {
    if ((lo & APIC_BASE_RESERVED_LO) !== 0 || (hi & ~this.baseHiMask) !== 0) return false;
    const en = (lo & APIC_BASE_EN) !== 0;
    const extd = (lo & APIC_BASE_EXTD) !== 0;
    if (extd && !en) return false; // (EN, EXTD) = (0, 1) is the invalid state
    const next = !en ? ApicMode.Disabled : extd ? ApicMode.X2Apic : ApicMode.XApic;
    if (this.mode === ApicMode.X2Apic && next === ApicMode.XApic) return false; // must go through disabled
    if (this.mode === ApicMode.Disabled && next === ApicMode.X2Apic) return false; // must go through xAPIC
    const oldBase = this.baseAddress;
    // BSP (bit 8) is set by hardware: a write neither sets nor clears it.
    this.baseLo = ((lo & ~APIC_BASE_BSP & ~APIC_BASE_RESERVED_LO) | (this.baseLo & APIC_BASE_BSP)) >>> 0;
    this.baseHi = hi >>> 0;
    if (next !== this.mode) {
      if (next === ApicMode.Disabled) this.resetRegisters();
      if (next === ApicMode.X2Apic) this.ldr = x2apicLdr(this.apicId); // SDM 11.12.10.2: LDR follows the ID
      this.mode = next;
      this.update();
    }
    if (this.baseAddress !== oldBase && this.onBaseChange !== null) this.onBaseChange(this.baseAddress);
    return true;
  }

  /** Power-up state of everything but the ID (SDM 11.4.7.1 and 11.12.5.1). */
  private resetRegisters(): void {
    this.tpr = 0;
    this.svr = SVR_RESET;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLo = 0;
    this.icrHi = 0;
    this.lvt.fill(LVT_RESET);
    this.irr.clearAll();
    this.isr.clearAll();
    this.tmr.clearAll();
    this.timer.reset();
    this.pending = false;
  }

  // ---- priority, acceptance, INTA, EOI (SDM 11.8) ----

  private get softwareEnabled(): boolean {
    return (this.svr & SVR_APIC_ENABLED) !== 0;
  }

  /** PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4 (SDM 11.8.3.1). */
  get ppr(): number {
    const isrv = Math.max(0, this.isr.highest());
    return this.tpr >>> 4 >= isrv >>> 4 ? this.tpr : isrv & 0xf0;
  }

  private deliverable(): boolean {
    if (this.mode === ApicMode.Disabled || !this.softwareEnabled) return false;
    const v = this.irr.highest();
    return v >= 0 && v >>> 4 > this.ppr >>> 4;
  }

  private update(): void {
    const was = this.pending;
    this.pending = this.deliverable();
    if (this.pending && !was && this.onPending !== null) this.onPending();
  }

  hasInterrupt(): boolean {
    return this.pending;
  }

  /**
   * INTA: the highest IRR vector moves to ISR and is returned. If it no longer beats PPR (TPR raised, or
   * nothing left), the spurious vector is returned and nothing changes (SDM 11.9).
   */
  acknowledge(): number {
    if (!this.deliverable()) {
      this.stats.spuriousAcks++;
      return this.svr & SVR_VECTOR;
    }
    const v = this.irr.highest();
    this.irr.clear(v);
    this.isr.set(v);
    this.stats.delivered++;
    this.update();
    return v;
  }

  /** EOI: retire the highest in-service vector (SDM 11.8.5); level-triggered ones broadcast the EOI. */
  private eoi(): void {
    const v = this.isr.highest();
    if (v < 0) {
      this.stats.spuriousEois++;
      return;
    }
    this.isr.clear(v);
    if (this.tmr.has(v) && this.onEoiBroadcast !== null) this.onEoiBroadcast(v);
    this.update();
  }

  /** Accepts a fixed interrupt into IRR (SDM 11.8.4): TMR records the trigger; a second arrival merges. */
  private accept(vector: number, level: boolean): void {
    if (this.mode === ApicMode.Disabled || !this.softwareEnabled) {
      this.stats.dropped++;
      return;
    }
    if (vector < FIRST_LEGAL_VECTOR) {
      this.stats.illegalVectors++;
      this.signalError(EsrBit.ReceiveIllegalVector);
      return;
    }
    this.stats.accepted++;
    if (this.irr.has(vector)) this.stats.merged++;
    this.irr.set(vector);
    if (level) this.tmr.set(vector);
    else this.tmr.clear(vector);
    this.update();
  }

  /** Records an APIC error and raises the LVT error interrupt if unmasked (SDM 11.5.3). */
  private signalError(bit: EsrBit): void {
    this.esrPending |= bit;
    const entry = this.lvt[ApicReg.LvtError - ApicReg.LvtTimer];
    if ((entry & LVT_MASKED) !== 0) return;
    const v = entry & 0xff;
    if (v < FIRST_LEGAL_VECTOR) {
      // The error vector itself is illegal: record it, do not recurse.
      this.esrPending |= EsrBit.ReceiveIllegalVector;
      this.stats.illegalVectors++;
      return;
    }
    this.accept(v, false);
  }

  private timerExpired(): void {
    const entry = this.lvt[ApicReg.LvtTimer - ApicReg.LvtTimer];
    if ((entry & LVT_MASKED) !== 0) return;
    this.accept(entry & 0xff, false);
  }

  /**
   * Whether the 8259's INTR reaches the CPU past this APIC (for machine/'s PIC + APIC composite): when the APIC
   * is globally disabled (SDM 11.4.3: as if absent), when LINT0 is unmasked in ExtINT mode (virtual wire; KVM's
   * kvm_apic_accept_pic_intr), or while it is still software-disabled as after reset (no BIOS runs here to set
   * up virtual-wire mode, so firmware-less PIC guests keep working).
   */
  acceptsPicInterrupts(): boolean {
    if (this.mode === ApicMode.Disabled || !this.softwareEnabled) return true;
    const lint0 = this.lvt[ApicReg.LvtLint0 - ApicReg.LvtTimer];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >>> 8) & 7) === DeliveryMode.ExtInt;
  }

  // ---- IPIs and MSIs (SDM 11.6, 11.11, 11.12.9-11) ----

  /** Sends an IPI from ICR (lo, dest); this board has one CPU, so only messages to self are accepted. */
  private sendIpi(lo: number, dest: number): void {
    this.stats.ipis++;
    const mode = (lo >>> 8) & 7;
    if (mode !== DeliveryMode.Fixed && mode !== DeliveryMode.LowestPriority) {
      this.stats.dropped++; // SMI, NMI, INIT, SIPI, ExtINT: not modelled
      return;
    }
    const vector = lo & 0xff;
    if (vector < FIRST_LEGAL_VECTOR) {
      this.stats.illegalVectors++;
      this.signalError(EsrBit.SendIllegalVector);
      return;
    }
    const shorthand = (lo >>> ICR_SHORTHAND_SHIFT) & 3;
    let toSelf: boolean;
    if (shorthand === Shorthand.Self || shorthand === Shorthand.AllIncludingSelf) toSelf = true;
    else if (shorthand === Shorthand.AllExcludingSelf) toSelf = false;
    else toSelf = this.matches(dest, (lo & ICR_DEST_LOGICAL) !== 0, this.mode === ApicMode.X2Apic);
    if (!toSelf) {
      this.stats.dropped++;
      return;
    }
    this.accept(vector, (lo & ICR_TRIGGER_LEVEL) !== 0);
  }

  /** Does a destination select this APIC? `wide`: a 32-bit x2APIC destination, else 8-bit xAPIC format. */
  private matches(dest: number, logical: boolean, wide: boolean): boolean {
    if (this.mode === ApicMode.X2Apic) {
      // An 8-bit destination seen by an x2APIC: 0xFF is broadcast, logical is cluster 0 (SDM 11.12.10).
      if (!wide && (dest & 0xff) === 0xff) return true;
      return matchX2apic(wide ? dest : dest & 0xff, logical, this.apicId, this.ldr);
    }
    return matchXapic(dest, logical, this.apicId & 0xff, this.ldr, this.dfr);
  }

  /**
   * An MSI (SDM 11.11; vmx.md 10): address 0xFEE, destination ID 19:12, DM bit 2 (physical/logical, taken as
   * given whatever RH says, as KVM does); data vector 7:0, delivery mode 10:8 (fixed; lowest priority is
   * fixed on one CPU), level 14, trigger 15 (level: TMR set, so the EOI is broadcast).
   */
  deliverMsi(address: number, data: number): void {
    this.stats.msis++;
    if ((address & MSI_WINDOW_MASK) >>> 0 !== MSI_WINDOW_BASE) {
      this.stats.dropped++;
      return;
    }
    const mode = (data >>> 8) & 7;
    const level = (data & ICR_TRIGGER_LEVEL) !== 0;
    if (mode !== DeliveryMode.Fixed && mode !== DeliveryMode.LowestPriority) {
      this.stats.dropped++;
      return;
    }
    if (level && (data & ICR_LEVEL_ASSERT) === 0) {
      this.stats.dropped++; // a level de-assert message carries no interrupt
      return;
    }
    if (this.mode === ApicMode.Disabled || !this.matches((address >>> 12) & 0xff, (address & 4) !== 0, false)) {
      this.stats.dropped++;
      return;
    }
    this.accept(data & 0xff, level);
  }

  // ---- the register file, shared by both interfaces ----

  /** A register's 32-bit value (registers absent in the current mode read 0; callers filter for x2APIC). */
  private readRegister(reg: number): number {
    if (reg >= ApicReg.Isr0 && reg < ApicReg.Isr0 + 8) return this.isr.words[reg - ApicReg.Isr0];
    if (reg >= ApicReg.Tmr0 && reg < ApicReg.Tmr0 + 8) return this.tmr.words[reg - ApicReg.Tmr0];
    if (reg >= ApicReg.Irr0 && reg < ApicReg.Irr0 + 8) return this.irr.words[reg - ApicReg.Irr0];
    if (reg >= ApicReg.LvtTimer && reg <= ApicReg.LvtError) return this.lvt[reg - ApicReg.LvtTimer];
    const x2 = this.mode === ApicMode.X2Apic;
    switch (reg) {
      case ApicReg.Id:
        return x2 ? this.apicId : ((this.apicId & 0xff) << 24) >>> 0;
      case ApicReg.Version:
        return APIC_VERSION;
      case ApicReg.Tpr:
        return this.tpr;
      case ApicReg.Ppr:
        return this.ppr;
      case ApicReg.Ldr:
        return this.ldr;
      case ApicReg.Dfr:
        return x2 ? 0 : this.dfr;
      case ApicReg.Svr:
        return this.svr;
      case ApicReg.Esr:
        return this.esr;
      case ApicReg.IcrLo:
        return this.icrLo;
      case ApicReg.IcrHi:
        return x2 ? 0 : this.icrHi;
      case ApicReg.TimerInitial:
        return this.timer.initialCount;
      case ApicReg.TimerCurrent:
        return this.timer.currentCount();
      case ApicReg.TimerDivide:
        return this.timer.divideConfig;
      default:
        return 0; // APR, RRD, EOI, SELF IPI, CMCI, reserved
    }
  }

  /** A register write after the interface's own checks; read-only registers ignore it. */
  private writeRegister(reg: number, value: number): void {
    const x2 = this.mode === ApicMode.X2Apic;
    if (reg >= ApicReg.LvtTimer && reg <= ApicReg.LvtError) {
      this.writeLvt(reg - ApicReg.LvtTimer, value);
      return;
    }
    switch (reg) {
      case ApicReg.Tpr:
        this.tpr = value & 0xff;
        this.update();
        return;
      case ApicReg.Eoi:
        this.eoi();
        return;
      case ApicReg.Ldr:
        if (!x2) this.ldr = (value & 0xff000000) >>> 0;
        return;
      case ApicReg.Dfr:
        if (!x2) this.dfr = (value | 0x0fffffff) >>> 0;
        return;
      case ApicReg.Svr:
        this.writeSvr(value & SVR_WRITABLE);
        return;
      case ApicReg.Esr:
        // A write latches the errors seen since the last write and starts a new accumulation (SDM 11.5.3).
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case ApicReg.IcrLo:
        this.icrLo = value & ICR_LO_WRITABLE & ~ICR_DELIVERY_STATUS; // delivery is instant: status idle
        this.sendIpi(this.icrLo, x2 ? this.icrHi : this.icrHi >>> 24);
        return;
      case ApicReg.IcrHi:
        if (!x2) this.icrHi = (value & ICR_HI_XAPIC_WRITABLE) >>> 0;
        return;
      case ApicReg.TimerInitial:
        this.timer.writeInitial(value);
        return;
      case ApicReg.TimerDivide:
        this.timer.writeDivide(value & TDCR_WRITABLE);
        return;
      case ApicReg.SelfIpi:
        // Fixed, edge, shorthand self (SDM 11.12.11); only an x2APIC register.
        if (x2) this.sendIpi((Shorthand.Self << ICR_SHORTHAND_SHIFT) | (value & 0xff), 0);
        return;
      default:
        return; // ID (read-only here), version, PPR, ISR/TMR/IRR, current count, reserved
    }
  }

  /** SVR write; clearing bit 8 masks every LVT entry (SDM 11.4.7.2). */
  private writeSvr(value: number): void {
    this.svr = value;
    if (!this.softwareEnabled) for (let i = 0; i < APIC_LVT_ENTRIES; i++) this.lvt[i] |= LVT_MASKED;
    this.update();
  }

  /** LVT write; while software-disabled the mask bit stays set (SDM 11.4.7.2). */
  private writeLvt(index: number, value: number): void {
    let v = value & LVT_WRITABLE[index];
    if (!this.softwareEnabled) v |= LVT_MASKED;
    this.lvt[index] = v >>> 0;
    if (index === 0) this.timer.setMode(((v >>> LVT_TIMER_MODE_SHIFT) & 3) as TimerMode);
  }

  // ---- xAPIC MMIO page (BusDevice; SDM 11.4.1: 32-bit accesses at 16-byte-aligned offsets) ----

  private mmioValue(offset: number, size: AccessSize): number {
    if (this.mode !== ApicMode.XApic) return allOnes(size);
    if (size !== 4 || (offset & 0xf) !== 0 || offset < 0 || offset >= APIC_MMIO_SIZE) return 0;
    const reg = offset >>> 4;
    return reg < 0x40 ? this.readRegister(reg) >>> 0 : 0;
  }

  private mmioBad(offset: number, size: AccessSize): boolean {
    return this.mode !== ApicMode.XApic || size !== 4 || (offset & 0xf) !== 0 || offset < 0 || offset >= 0x400;
  }

  read(offset: number, size: AccessSize): number {
    if (this.mmioBad(offset, size)) this.stats.badMmio++;
    return this.mmioValue(offset, size);
  }

  peek(offset: number, size: AccessSize): number {
    return this.mmioValue(offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (this.mmioBad(offset, size)) {
      this.stats.badMmio++;
      return;
    }
    this.writeRegister(offset >>> 4, value >>> 0);
  }

  // ---- MSRs (MsrDevice): IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC 800-8FF (SDM 11.12.1) ----

  claims(index: number): boolean {
    return (
      index === ApicMsr.ApicBase ||
      index === ApicMsr.TscDeadline ||
      (index >= ApicMsr.X2apicFirst && index <= ApicMsr.X2apicLast)
    );
  }

  rdmsr(index: number, result: Int32Array): boolean {
    if (index === ApicMsr.ApicBase) {
      result[0] = this.baseLo;
      result[1] = this.baseHi;
      return true;
    }
    if (index === ApicMsr.TscDeadline) {
      const d = this.mode === ApicMode.Disabled ? 0 : this.timer.readDeadline();
      result[0] = d % TWO_32;
      result[1] = Math.floor(d / TWO_32);
      return true;
    }
    const reg = this.x2apicRegister(index, X2Access.Read);
    if (reg < 0) return false;
    result[0] = this.readRegister(reg);
    result[1] = reg === ApicReg.IcrLo ? this.icrHi : 0;
    return true;
  }

  wrmsr(index: number, lo: number, hi: number): boolean {
    if (index === ApicMsr.ApicBase) return this.writeApicBase(lo, hi);
    if (index === ApicMsr.TscDeadline) {
      if (this.mode !== ApicMode.Disabled) this.timer.writeDeadline(lo, hi);
      return true;
    }
    const reg = this.x2apicRegister(index, X2Access.Write);
    if (reg < 0) return false;
    if ((lo & X2APIC_RESERVED[reg]) !== 0) return false;
    if (reg === ApicReg.IcrLo) {
      this.icrHi = hi >>> 0; // destination 63:32, then the low write sends
      this.writeRegister(reg, lo >>> 0);
      return true;
    }
    if (hi !== 0) return false; // bits 63:32 are reserved in every other register
    this.writeRegister(reg, lo >>> 0);
    return true;
  }

  /** The register an x2APIC MSR names if it exists with `access` in x2APIC mode, else -1 (#GP). */
  private x2apicRegister(index: number, access: X2Access): number {
    if (this.mode !== ApicMode.X2Apic) return -1;
    const reg = index - ApicMsr.X2apicFirst;
    if (reg < 0 || reg >= 0x40) return -1;
    return (X2APIC_ACCESS[reg] & access) !== 0 ? reg : -1;
  }

  // ---- debugger view ----

  /** Everything `info lapic` shows; allocates, reads nothing with side effects. */
  snapshot(): LocalApicSnapshot {
    const modeName = ['disabled', 'xapic', 'x2apic'] as const;
    return {
      mode: modeName[this.mode],
      base: this.baseAddress,
      apicBaseMsr: [this.baseLo, this.baseHi],
      id: this.apicId,
      version: APIC_VERSION,
      tpr: this.tpr,
      ppr: this.ppr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      esr: this.esr,
      esrPending: this.esrPending,
      icr: [this.icrLo, this.icrHi],
      irr: this.irr.list(),
      isr: this.isr.list(),
      tmr: this.tmr.list(),
      lvt: {
        timer: this.lvt[0],
        thermal: this.lvt[1],
        perf: this.lvt[2],
        lint0: this.lvt[3],
        lint1: this.lvt[4],
        error: this.lvt[5],
      },
      timer: {
        initialCount: this.timer.initialCount,
        currentCount: this.timer.currentCount(),
        divideConfig: this.timer.divideConfig,
        divisor: this.timer.divisor,
        tscDeadline: this.timer.deadline,
        nextExpiry: this.timer.nextExpiry,
        expiries: this.timer.expiries,
      },
      pending: this.pending,
      stats: { ...this.stats },
    };
  }
}
