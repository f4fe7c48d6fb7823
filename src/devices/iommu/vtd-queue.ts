// Queued invalidation for the VT-d unit: IQA/IQH/IQT, the descriptor ring, and invalidation-wait completion
// (ICS/IECTL/IEDATA/IEADDR) (VT-d 6.5.2, 10.4.22-10.4.27; devices.md 3.7). The caches it invalidates are
// the translator's; IQE reporting goes through the fault log.

import type { MsiSink } from '../../core/dma.js';
import type { PhysicalMemory } from '../../core/physical-memory.js';
import type { FaultLog } from './vtd-faults.js';
import { EventCtl, Fsts, MAMV, VtdReg } from './vtd-regs.js';
import type { ContextGranularity, Translator } from './vtd-translate.js';

const IQH = VtdReg.IQH >>> 2;
const IQT = VtdReg.IQT >>> 2;
const IQA = VtdReg.IQA >>> 2;
const ICS = VtdReg.ICS >>> 2;
const IECTL = VtdReg.IECTL >>> 2;
const IEDATA = VtdReg.IEDATA >>> 2;
const IEADDR = VtdReg.IEADDR >>> 2;
const FSTS = VtdReg.FSTS >>> 2;
const ICS_IWC = 1;

/** Descriptor types (low qword bits 3:0). */
const enum Desc {
  ContextCache = 1,
  Iotlb = 2,
  DeviceIotlb = 3,
  InterruptEntryCache = 4,
  Wait = 5,
}

export interface QueueStats {
  descriptors: number;
  waits: number;
  errors: number;
  /** Wait descriptors whose status write did not target RAM (dropped, like any non-RAM DMA). */
  statusWritesRejected: number;
  completionEvents: number;
}

/**
 * Descriptors are processed synchronously when IQT is written (and when the queue is enabled), from IQH up
 * to IQT. An unknown type, a malformed descriptor, a descriptor outside RAM or a tail beyond the queue size
 * sets FSTS.IQE (a fault event) and stops with IQH at the offending descriptor until software clears IQE.
 */
export class InvalidationQueue {
  readonly stats: QueueStats = { descriptors: 0, waits: 0, errors: 0, statusWritesRejected: 0, completionEvents: 0 };
  enabled = false;
  private baseLo = 0;
  private baseHi = 0;
  private entries = 256;

  constructor(
    private readonly regs: Uint32Array,
    private readonly memory: PhysicalMemory,
    private readonly translator: Translator,
    private readonly faults: FaultLog,
    private readonly sink: MsiSink,
  ) {}

  /** GCMD.QIE set: latch IQA, reset IQH, then run anything already queued. */
  enable(): void {
    this.baseHi = this.regs[IQA + 1];
    this.baseLo = (this.regs[IQA] & 0xfffff000) >>> 0;
    this.entries = 2 ** ((this.regs[IQA] & 7) + 8);
    this.regs[IQH] = 0;
    this.enabled = true;
    this.process();
  }

  /** GCMD.QIE cleared: allowed only when the queue is idle (IQH = IQT), as QEMU does. */
  disable(): boolean {
    if (this.regs[IQH] !== this.regs[IQT]) return false;
    this.enabled = false;
    return true;
  }

  tailWritten(): void {
    if (this.enabled) this.process();
  }

  icsWritten(): void {
    if ((this.regs[ICS] & ICS_IWC) === 0) this.regs[IECTL] = (this.regs[IECTL] & ~EventCtl.IP) >>> 0;
  }

  iectlWritten(wasMasked: boolean): void {
    const ctl = this.regs[IECTL];
    if (wasMasked && (ctl & EventCtl.IM) === 0 && (ctl & EventCtl.IP) !== 0) this.sendCompletion();
  }

  private process(): void {
    if ((this.regs[FSTS] & Fsts.IQE) !== 0) return;
    const tail = this.regs[IQT] >>> 4;
    if (tail >= this.entries) return this.error();
    let head = this.regs[IQH] >>> 4;
    // At most one pass over the ring: the loop is bounded whatever the guest wrote.
    for (let n = 0; n < this.entries && head !== tail; n++) {
      if (!this.execute(head)) return this.error();
      this.stats.descriptors++;
      head = (head + 1) % this.entries;
      this.regs[IQH] = head << 4;
    }
  }

  /** Runs one descriptor; false for an invalid one. */
  private execute(index: number): boolean {
    const a = this.baseLo + index * 16;
    if (this.baseHi !== 0 || a + 16 > this.memory.ramBytes) return false;
    const w0 = this.memory.read(a, 4) >>> 0;
    const w1 = this.memory.read(a + 4, 4) >>> 0;
    const w2 = this.memory.read(a + 8, 4) >>> 0;
    const w3 = this.memory.read(a + 12, 4) >>> 0;
    if ((w0 & 0xe00) !== 0) return false; // type bits 11:9 belong to descriptor types we lack
    const g = (w0 >>> 4) & 3;
    const did = w0 >>> 16;
    switch (w0 & 0xf) {
      case Desc.ContextCache:
        if (g === 0) return false;
        this.translator.invalidateContexts(g as ContextGranularity, did, w1 & 0xffff, (w1 >>> 16) & 3);
        return true;
      case Desc.Iotlb:
        if (g === 0) return false;
        if (g === 1) this.translator.invalidateAll();
        else if (g === 2) this.translator.invalidateDomain(did);
        else {
          if ((w2 & 0x3f) > MAMV) return false;
          this.translator.invalidatePages(did, w3, w2 & 0xfffff000, w2 & 0x3f);
        }
        return true;
      case Desc.InterruptEntryCache:
        return true; // IRTEs are read on every interrupt: there is no entry cache to invalidate
      case Desc.Wait:
        this.wait(w0, w1, w2, w3);
        return true;
      case Desc.DeviceIotlb: // ECAP.DT = 0
      default:
        return false;
    }
  }

  private wait(w0: number, status: number, addrLo: number, addrHi: number): void {
    this.stats.waits++;
    if ((w0 & (1 << 5)) !== 0) {
      const a = (addrLo & 0xfffffffc) >>> 0;
      if (addrHi === 0 && a + 4 <= this.memory.ramBytes) this.memory.write(a, 4, status | 0);
      else this.stats.statusWritesRejected++;
    }
    if ((w0 & (1 << 4)) !== 0 && (this.regs[ICS] & ICS_IWC) === 0) {
      this.regs[ICS] |= ICS_IWC;
      this.regs[IECTL] = (this.regs[IECTL] | EventCtl.IP) >>> 0;
      if ((this.regs[IECTL] & EventCtl.IM) === 0) this.sendCompletion();
    }
  }

  private sendCompletion(): void {
    this.regs[IECTL] = (this.regs[IECTL] & ~EventCtl.IP) >>> 0;
    this.stats.completionEvents++;
    this.sink.deliverMsi(this.regs[IEADDR] >>> 0, this.regs[IEDATA] >>> 0);
  }

  private error(): void {
    this.stats.errors++;
    this.faults.raise(Fsts.IQE);
  }
}
