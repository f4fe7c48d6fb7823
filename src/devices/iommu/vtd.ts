// VtdUnit: a VT-d remapping unit as the machine sees it: the 4 KiB register page (a BusDevice) and the DMA
// space of every device behind it (by requester ID), with interrupt remapping of their MSIs. Table walks and
// caches are vtd-translate.ts's, fault logging vtd-faults.ts's, IRTEs vtd-interrupt-remap.ts's, QI vtd-queue.ts's.

import type { AccessSize, BusDevice } from '../../core/bus.js';
import { type DmaSpace, DmaStatus, MSI_WINDOW_BASE, MSI_WINDOW_MASK, type MsiSink } from '../../core/dma.js';
import { PAGE_SIZE, type PhysicalMemory } from '../../core/physical-memory.js';
import { copyFromRam, copyToRam, fillBlocked, inRam, validRequest } from './ram-copy.js';
import { type FaultStats, FaultLog } from './vtd-faults.js';
import { InterruptRemapper, type RemapStats } from './vtd-interrupt-remap.js';
import { InvalidationQueue, type QueueStats } from './vtd-queue.js';
import { EventCtl, FRCD_COUNT, Gcmd, MAMV, REGISTER_TABLE, RegAction, VTD_PAGE_BYTES, VtdReg } from './vtd-regs.js';
import { type ContextGranularity, type TranslateStats, Translator } from './vtd-translate.js';

/** Where the machine maps the register page (QEMU q35, devices.md 3 and 6.1). */
export const VTD_BASE = 0xfed90000;

const DWORDS = VTD_PAGE_BYTES >>> 2;
// The register table compiled once into per-dword arrays (STYLE rule 4).
const RESET = new Uint32Array(DWORDS);
const RW = new Int32Array(DWORDS);
const W1C = new Int32Array(DWORDS);
const ACTION = new Uint8Array(DWORDS);
for (const r of REGISTER_TABLE) {
  const i = r.offset >>> 2;
  RESET[i] = r.reset >>> 0;
  RW[i] = r.rw;
  W1C[i] = r.w1c;
  ACTION[i] = r.action;
}

const GSTS = VtdReg.GSTS >>> 2;
const RTADDR = VtdReg.RTADDR >>> 2;
const CCMD = VtdReg.CCMD >>> 2;
const IRTA = VtdReg.IRTA >>> 2;
const IVA = VtdReg.IVA >>> 2;
const IOTLB = VtdReg.IOTLB >>> 2;
const FRCD = VtdReg.FRCD >>> 2;
const ICC = 1 << 31; // CCMD bit 63
const IVT = 1 << 31; // IOTLB bit 63
const TWO_32 = 0x1_0000_0000;

export interface VtdStats {
  dmaReads: number;
  dmaWrites: number;
  bytesRead: number;
  bytesWritten: number;
  /** Transfers stopped by a translation fault. */
  dmaFaults: number;
  /** Transfers stopped because the (translated) target was not RAM, or the request was malformed. */
  rejected: number;
  msis: number;
  msisRejected: number;
  msiFaults: number;
  contextInvalidations: number;
  iotlbInvalidations: number;
  /** Register writes ignored for being narrower than 32 bits or unaligned (VT-d 10.2). */
  badRegisterWrites: number;
}

export interface VtdFaultView {
  index: number;
  reason: number;
  sid: number;
  /** Fault info (FI) as a 64-bit number: the faulting page, or for interrupt faults the index << 48. */
  info: number;
  read: boolean;
}

/** What `info iommu` shows: decoded state and counters, gathered without side effects. */
export interface VtdSnapshot {
  translation: boolean;
  interruptRemapping: boolean;
  queuedInvalidation: boolean;
  compatibilityFormat: boolean;
  rootTable: number;
  irtBase: number;
  irtEntries: number;
  registers: { name: string; offset: number; value: number }[];
  faults: VtdFaultView[];
  cached: { contexts: number; iotlb: number };
  stats: VtdStats;
  translate: TranslateStats;
  faultLog: FaultStats;
  remap: RemapStats;
  queue: QueueStats;
}

/**
 * Requests are handled synchronously (no latency model). Register accesses: 32-bit aligned; narrower
 * reads return the bytes, narrower writes are ignored and counted. GCMD writes that change several
 * things at once are honoured in a fixed order (SRTP, SIRTP, QIE, TE, IRE, CFI); the spec asks software
 * to change one at a time. Register-based invalidation also works while QI is on (it only drops more).
 */
export class VtdUnit implements DmaSpace {
  /** The register page, for the machine to map at VTD_BASE (BusDevice and DmaSpace both name read/write). */
  readonly registers: BusDevice;
  readonly stats: VtdStats = {
    dmaReads: 0,
    dmaWrites: 0,
    bytesRead: 0,
    bytesWritten: 0,
    dmaFaults: 0,
    rejected: 0,
    msis: 0,
    msisRejected: 0,
    msiFaults: 0,
    contextInvalidations: 0,
    iotlbInvalidations: 0,
    badRegisterWrites: 0,
  };
  private readonly regs = new Uint32Array(DWORDS);
  private readonly translator: Translator;
  private readonly faults: FaultLog;
  private readonly remapper: InterruptRemapper;
  private readonly queue: InvalidationQueue;

  constructor(
    private readonly memory: PhysicalMemory,
    private readonly sink: MsiSink,
  ) {
    this.translator = new Translator(memory);
    this.faults = new FaultLog(this.regs, sink);
    this.remapper = new InterruptRemapper(memory);
    this.queue = new InvalidationQueue(this.regs, memory, this.translator, this.faults, sink);
    this.registers = new VtdRegisterPage(this);
    this.reset();
  }

  reset(): void {
    this.regs.set(RESET);
    this.translator.rootHi = 0;
    this.translator.rootLo = 0;
    this.translator.invalidateAll();
    this.remapper.latch(0, 0);
    this.queue.enabled = false;
    this.faults.resetIndex();
  }

  // ---- BusDevice: the register page ----

  /** No VT-d register has a read side effect, so reading is peeking. */
  peekRegister(offset: number, size: AccessSize): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > VTD_PAGE_BYTES) return 0;
    if (size === 4 && (offset & 3) === 0) return this.regs[offset >>> 2];
    let value = 0;
    for (let b = 0; b < size; b++) {
      const o = offset + b;
      value |= ((this.regs[o >>> 2] >>> ((o & 3) * 8)) & 0xff) << (8 * b);
    }
    return value >>> 0;
  }

  writeRegister(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || (offset & 3) !== 0 || offset >= VTD_PAGE_BYTES) {
      this.stats.badRegisterWrites++;
      return;
    }
    const i = offset >>> 2;
    const old = this.regs[i];
    const v = value | 0;
    this.regs[i] = ((old & ~RW[i]) | (v & RW[i])) & ~(v & W1C[i]);
    switch (ACTION[i] as RegAction) {
      case RegAction.None:
        return;
      case RegAction.Gcmd:
        return this.command(v);
      case RegAction.CcmdHi:
        if ((v & ICC) !== 0) this.contextCommand(v);
        return;
      case RegAction.IotlbHi:
        if ((v & IVT) !== 0) this.iotlbCommand(v);
        return;
      case RegAction.Fsts:
      case RegAction.FrcdHi:
        return this.faults.statusChanged();
      case RegAction.Fectl:
        return this.faults.controlWritten((old & EventCtl.IM) !== 0);
      case RegAction.Iqt:
        return this.queue.tailWritten();
      case RegAction.Ics:
        return this.queue.icsWritten();
      case RegAction.Iectl:
        return this.queue.iectlWritten((old & EventCtl.IM) !== 0);
    }
  }

  /** GCMD (VT-d 10.4.4): one-shot commands act when set; persistent ones when they differ from GSTS. */
  private command(v: number): void {
    let gsts = this.regs[GSTS] | 0;
    if ((v & Gcmd.SRTP) !== 0) {
      this.translator.rootLo = (this.regs[RTADDR] & 0xfffff000) >>> 0;
      this.translator.rootHi = this.regs[RTADDR + 1];
      this.translator.invalidateAll();
      gsts |= Gcmd.SRTP; // RTPS
    }
    if ((v & Gcmd.SIRTP) !== 0) {
      this.remapper.latch(this.regs[IRTA + 1], this.regs[IRTA]);
      gsts |= Gcmd.SIRTP; // IRTPS
    }
    if (((v ^ gsts) & Gcmd.QIE) !== 0) {
      if ((v & Gcmd.QIE) !== 0) {
        this.regs[GSTS] = (gsts | Gcmd.QIE) >>> 0; // visible before the queue runs (it may raise IQE)
        this.queue.enable();
        gsts |= Gcmd.QIE;
      } else if (this.queue.disable()) gsts &= ~Gcmd.QIE;
    }
    if (((v ^ gsts) & Gcmd.TE) !== 0) {
      gsts ^= Gcmd.TE;
      this.translator.invalidateAll();
      if ((v & Gcmd.TE) === 0) this.faults.resetIndex();
    }
    if (((v ^ gsts) & Gcmd.IRE) !== 0) gsts ^= Gcmd.IRE;
    if (((v ^ gsts) & Gcmd.CFI) !== 0) gsts ^= Gcmd.CFI;
    this.regs[GSTS] = gsts >>> 0;
  }

  /** CCMD with ICC set (VT-d 10.4.7): invalidate, report the granularity done in CAIG, clear ICC. */
  private contextCommand(hi: number): void {
    const cirg = (hi >>> 29) & 3;
    const lo = this.regs[CCMD];
    if (cirg !== 0) {
      this.stats.contextInvalidations++;
      this.translator.invalidateContexts(cirg as ContextGranularity, lo & 0xffff, lo >>> 16, hi & 3);
    }
    this.regs[CCMD + 1] = ((this.regs[CCMD + 1] & ~(3 << 27)) | (cirg << 27)) >>> 0;
  }

  /** IOTLB with IVT set (VT-d 10.4.8.1): global, domain or page-selective (IVA); IAIG reports what was done. */
  private iotlbCommand(hi: number): void {
    const iirg = (hi >>> 28) & 3;
    const did = hi & 0xffff;
    let done = iirg;
    if (iirg === 1) this.translator.invalidateAll();
    else if (iirg === 2) this.translator.invalidateDomain(did);
    else if (iirg === 3) {
      const am = this.regs[IVA] & 0x3f;
      if (am > MAMV) done = 0;
      else this.translator.invalidatePages(did, this.regs[IVA + 1], this.regs[IVA] & 0xfffff000, am);
    }
    if (done !== 0) this.stats.iotlbInvalidations++;
    this.regs[IOTLB + 1] = ((this.regs[IOTLB + 1] & ~(3 << 25)) | (done << 25)) >>> 0;
  }

  // ---- DmaSpace ----

  read(requester: number, iova: number, dst: Uint8Array, length: number): DmaStatus {
    this.stats.dmaReads++;
    return this.transfer(requester, iova, dst, length, false);
  }

  write(requester: number, iova: number, src: Uint8Array, length: number): DmaStatus {
    this.stats.dmaWrites++;
    return this.transfer(requester, iova, src, length, true);
  }

  /**
   * Page by page: translate (when GSTS.TES), then copy if the host page is RAM. A fault is recorded and
   * stops the transfer (Fault); a non-RAM target stops it unrecorded (Rejected); earlier pages stay done.
   * With translation on, the interrupt window 0xFEEx_xxxx is never translated: such a DMA is Rejected
   * (MSIs arrive through msi()). Bytes a stopped read did not fetch are all-ones.
   */
  private transfer(requester: number, iova: number, buf: Uint8Array, length: number, isWrite: boolean): DmaStatus {
    if (!validRequest(iova, buf, length)) return this.reject();
    const sid = requester & 0xffff;
    const translating = (this.regs[GSTS] & Gcmd.TE) !== 0;
    let done = 0;
    while (done < length) {
      const addr = iova + done;
      const chunk = Math.min(length - done, PAGE_SIZE - (addr % PAGE_SIZE));
      const hi = Math.floor(addr / TWO_32);
      const lo = addr >>> 0;
      let hpaHi = hi;
      let hpaLo = lo;
      if (translating) {
        if (hi === 0 && ((lo & MSI_WINDOW_MASK) >>> 0) === MSI_WINDOW_BASE) {
          if (!isWrite) fillBlocked(buf, done, length - done);
          return this.reject();
        }
        const fr = this.translator.translate(sid, hi, lo, isWrite);
        if (fr !== 0) {
          this.faults.record(sid, fr, hi, lo, !isWrite, this.translator.fpd);
          this.stats.dmaFaults++;
          if (!isWrite) fillBlocked(buf, done, length - done);
          return DmaStatus.Fault;
        }
        hpaHi = this.translator.hpaHi;
        hpaLo = this.translator.hpaLo;
      }
      if (hpaHi !== 0 || !inRam(this.memory, hpaLo, chunk)) {
        if (!isWrite) fillBlocked(buf, done, length - done);
        return this.reject();
      }
      if (isWrite) {
        copyToRam(this.memory, hpaLo, buf, done, chunk);
        this.stats.bytesWritten += chunk;
      } else {
        copyFromRam(this.memory, hpaLo, buf, done, chunk);
        this.stats.bytesRead += chunk;
      }
      done += chunk;
    }
    return DmaStatus.Ok;
  }

  private reject(): DmaStatus {
    this.stats.rejected++;
    return DmaStatus.Rejected;
  }

  /**
   * An MSI write (devices.md 3.8). With IRES = 0 it is delivered as is. With IRES = 1 a remappable-format
   * message is replaced by its IRTE's vector and destination; a compatibility-format one is blocked
   * (fault 0x25) unless GSTS.CFIS. The fault-event MSI itself never comes through here.
   */
  msi(requester: number, address: number, data: number): DmaStatus {
    if (!Number.isInteger(address) || address < 0 || address > 0xffffffff || ((address & MSI_WINDOW_MASK) >>> 0) !== MSI_WINDOW_BASE) {
      this.stats.msisRejected++;
      return DmaStatus.Rejected;
    }
    const gsts = this.regs[GSTS];
    if ((gsts & Gcmd.IRE) === 0) {
      this.stats.msis++;
      this.sink.deliverMsi(address >>> 0, data >>> 0);
      return DmaStatus.Ok;
    }
    const sid = requester & 0xffff;
    const fr = this.remapper.remap(sid, address >>> 0, data >>> 0, (gsts & Gcmd.CFI) !== 0);
    if (fr !== 0) {
      this.faults.record(sid, fr, (this.remapper.index << 16) >>> 0, 0, false, this.remapper.fpd);
      this.stats.msiFaults++;
      return DmaStatus.Fault;
    }
    this.stats.msis++;
    this.sink.deliverMsi(this.remapper.outAddress, this.remapper.outData);
    return DmaStatus.Ok;
  }

  // ---- debugger view ----

  snapshot(): VtdSnapshot {
    const gsts = this.regs[GSTS];
    const faults: VtdFaultView[] = [];
    for (let n = 0; n < FRCD_COUNT; n++) {
      const base = FRCD + 4 * n;
      const top = this.regs[base + 3];
      if ((top & (1 << 31)) === 0) continue;
      faults.push({
        index: n,
        reason: top & 0xff,
        sid: this.regs[base + 2] & 0xffff,
        info: this.regs[base + 1] * TWO_32 + this.regs[base],
        read: (top & (1 << 30)) !== 0,
      });
    }
    return {
      translation: (gsts & Gcmd.TE) !== 0,
      interruptRemapping: (gsts & Gcmd.IRE) !== 0,
      queuedInvalidation: (gsts & Gcmd.QIE) !== 0,
      compatibilityFormat: (gsts & Gcmd.CFI) !== 0,
      rootTable: this.translator.rootHi * TWO_32 + this.translator.rootLo,
      irtBase: this.remapper.tableHi * TWO_32 + this.remapper.tableLo,
      irtEntries: this.remapper.entries,
      registers: REGISTER_TABLE.map((r) => ({ name: r.name, offset: r.offset, value: this.regs[r.offset >>> 2] })),
      faults,
      cached: this.translator.cachedCounts(),
      stats: { ...this.stats },
      translate: { ...this.translator.stats },
      faultLog: { ...this.faults.stats },
      remap: { ...this.remapper.stats },
      queue: { ...this.queue.stats },
    };
  }
}

/** The BusDevice face of a VtdUnit (its 4 KiB register page). */
class VtdRegisterPage implements BusDevice {
  readonly name = 'vtd';

  constructor(private readonly unit: VtdUnit) {}

  read(offset: number, size: AccessSize): number {
    return this.unit.peekRegister(offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    this.unit.writeRegister(offset, size, value);
  }

  peek(offset: number, size: AccessSize): number {
    return this.unit.peekRegister(offset, size);
  }
}
