// Primary fault logging for the VT-d unit: the FRCD ring, FSTS (PFO/PPF/FRI/IQE), FECTL (IM/IP) and the
// fault-event MSI (VT-d 7.3, devices.md 3.6). Deciding that something faulted is the translator's job.

import type { MsiSink } from '../../core/dma.js';
import { EventCtl, FRCD_COUNT, Fsts, VtdReg, isQualified } from './vtd-regs.js';

const FSTS = VtdReg.FSTS >>> 2;
const FECTL = VtdReg.FECTL >>> 2;
const FEDATA = VtdReg.FEDATA >>> 2;
const FEADDR = VtdReg.FEADDR >>> 2;
const FRCD = VtdReg.FRCD >>> 2;
const FRCD_F = 1 << 31;
const FRCD_T_READ = 1 << 30;
/** Status bits whose first setting raises a fault event (PFO, PPF, IQE; ICE/ITE never happen here). */
const EVENT_STATUS = Fsts.PFO | Fsts.PPF | Fsts.IQE;

export interface FaultStats {
  recorded: number;
  /** Dropped because FSTS.PFO was set or the next FRCD was still full (the latter sets PFO). */
  overflowed: number;
  /** Dropped because a pending FRCD already holds a fault from the same source ID (QEMU's compression). */
  compressed: number;
  /** Qualified faults not recorded because of FPD. */
  suppressed: number;
  /** Fault-event MSIs sent. */
  events: number;
}

/**
 * Owns the fault dwords of the register file (`regs`, indexed by offset / 4). Faults are recorded in FRCD
 * order, wrapping; a fault whose slot is still full sets PFO and is lost, as is every fault while PFO is
 * set. Like QEMU, a fault from a source ID that already has a pending record is folded into it.
 */
export class FaultLog {
  readonly stats: FaultStats = { recorded: 0, overflowed: 0, compressed: 0, suppressed: 0, events: 0 };
  /** Index of the FRCD the next fault goes to. */
  next = 0;

  constructor(
    private readonly regs: Uint32Array,
    private readonly sink: MsiSink,
  ) {}

  /**
   * Records one fault. `pageHi/pageLo` is the fault info (the faulting page for DMA; for interrupt faults
   * pass the index in bits 63:48 and 0). `isRead` sets T. `fpd` is the context entry's / IRTE's FPD.
   */
  record(sid: number, reason: number, pageHi: number, pageLo: number, isRead: boolean, fpd: boolean): void {
    if (fpd && isQualified(reason)) {
      this.stats.suppressed++;
      return;
    }
    const fsts = this.regs[FSTS];
    if ((fsts & Fsts.PFO) !== 0) {
      this.stats.overflowed++;
      return;
    }
    for (let n = 0; n < FRCD_COUNT; n++) {
      const base = FRCD + 4 * n;
      if ((this.regs[base + 3] & FRCD_F) !== 0 && (this.regs[base + 2] & 0xffff) === sid) {
        this.stats.compressed++;
        return;
      }
    }
    const i = this.next;
    const base = FRCD + 4 * i;
    if ((this.regs[base + 3] & FRCD_F) !== 0) {
      this.stats.overflowed++;
      this.raise(Fsts.PFO);
      return;
    }
    this.regs[base] = pageLo & 0xfffff000;
    this.regs[base + 1] = pageHi;
    this.regs[base + 2] = sid & 0xffff;
    this.regs[base + 3] = (FRCD_F | (isRead ? FRCD_T_READ : 0) | (reason & 0xff)) >>> 0;
    this.next = (i + 1) % FRCD_COUNT;
    this.stats.recorded++;
    if ((fsts & Fsts.PPF) !== 0) return; // an earlier fault is still pending: no new event
    this.regs[FSTS] = (this.regs[FSTS] & ~(0xff << Fsts.FriShift)) | (i << Fsts.FriShift);
    this.raise(Fsts.PPF);
  }

  /** Sets a status bit (PPF, PFO, IQE); the first one set while all were clear raises the fault event. */
  raise(bit: number): void {
    const before = this.regs[FSTS];
    this.regs[FSTS] = (before | bit) >>> 0;
    if ((before & EVENT_STATUS) !== 0) return;
    this.regs[FECTL] = (this.regs[FECTL] | EventCtl.IP) >>> 0;
    if ((this.regs[FECTL] & EventCtl.IM) === 0) this.sendEvent();
  }

  /** After software cleared F bits or FSTS status: recompute PPF, and clear IP once nothing is pending. */
  statusChanged(): void {
    let ppf = 0;
    for (let n = 0; n < FRCD_COUNT; n++) if ((this.regs[FRCD + 4 * n + 3] & FRCD_F) !== 0) ppf = Fsts.PPF;
    this.regs[FSTS] = ((this.regs[FSTS] & ~Fsts.PPF) | ppf) >>> 0;
    if ((this.regs[FSTS] & EVENT_STATUS) === 0) this.regs[FECTL] = (this.regs[FECTL] & ~EventCtl.IP) >>> 0;
  }

  /** FECTL was written: unmasking with an event pending sends it (VT-d 10.4.10). */
  controlWritten(wasMasked: boolean): void {
    const fectl = this.regs[FECTL];
    if (wasMasked && (fectl & EventCtl.IM) === 0 && (fectl & EventCtl.IP) !== 0) this.sendEvent();
  }

  /** Translation was turned off: QEMU restarts recording at FRCD 0. */
  resetIndex(): void {
    this.next = 0;
  }

  private sendEvent(): void {
    this.regs[FECTL] = (this.regs[FECTL] & ~EventCtl.IP) >>> 0;
    this.stats.events++;
    this.sink.deliverMsi(this.regs[FEADDR] >>> 0, this.regs[FEDATA] >>> 0);
  }
}
