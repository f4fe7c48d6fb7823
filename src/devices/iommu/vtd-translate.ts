// DMA address translation for the VT-d unit: root and context tables (legacy mode), the second-level walk,
// the context cache and the IOTLB (VT-d 3.4-3.6, 6.1-6.5; devices.md 3.4, 3.5, 3.7). Registers, fault
// recording and the copy itself are vtd.ts's; a fault here is a returned reason number, never an exception.

import type { PhysicalMemory } from '../../core/physical-memory.js';
import { ABOVE_HAW_HI, CAP_HI, FaultReason, MGAW_BITS, SAGAW_39, SAGAW_48 } from './vtd-regs.js';

const PTE_R = 1;
const PTE_W = 2;
const PTE_PS = 1 << 7;
const PTE_SNP = 1 << 11;
/** SL-PTE high dword: bits 51:39 are above HAW (reserved); bit 62 TM is reserved without ECAP.DT. */
const PTE_RSVD_HI = (0x000fff80 | (1 << 30)) | 0;
/** 2 MiB pages are advertised (CAP.SLLPS bit 34); 1 GiB pages are not. */
const SUPPORTS_2M = (CAP_HI & (1 << 2)) !== 0;

const CTX_SLOTS = 256;
/** CCMD.FM / descriptor FM: which function bits of the SID are ignored (VT-d 10.4.7). */
const FM_MASKS = new Uint16Array([0xffff, 0xfffb, 0xfff9, 0xfff8]);

/** Context-cache invalidation granularity, as encoded in CCMD.CIRG and the descriptor's G field. */
export const enum ContextGranularity {
  Global = 1,
  Domain = 2,
  Device = 3,
}
const TLB_SLOTS = 1024;

export interface TranslateStats {
  walks: number;
  iotlbHits: number;
  iotlbMisses: number;
  contextHits: number;
  contextMisses: number;
}

/**
 * One request at a time: `translate` returns 0 and leaves the host-physical page address in
 * `hpaHi:hpaLo` (already offset within the page), or returns a fault reason; `fpd` tells whether the
 * context entry asked for qualified faults to be suppressed. Caches are typed arrays indexed by a hash;
 * a hit allocates nothing. Only successful translations are cached (CAP.CM = 0).
 */
export class Translator {
  readonly stats: TranslateStats = { walks: 0, iotlbHits: 0, iotlbMisses: 0, contextHits: 0, contextMisses: 0 };
  /** The root table latched by GCMD.SRTP. */
  rootHi = 0;
  rootLo = 0;
  hpaHi = 0;
  hpaLo = 0;
  fpd = false;

  // Context cache, by source ID hash: present, well-formed context entries only.
  private readonly ctxValid = new Uint8Array(CTX_SLOTS);
  private readonly ctxSid = new Uint16Array(CTX_SLOTS);
  private readonly ctxDid = new Uint16Array(CTX_SLOTS);
  private readonly ctxAw = new Uint8Array(CTX_SLOTS);
  private readonly ctxPassThrough = new Uint8Array(CTX_SLOTS);
  private readonly ctxFpd = new Uint8Array(CTX_SLOTS);
  private readonly ctxTableHi = new Uint32Array(CTX_SLOTS);
  private readonly ctxTableLo = new Uint32Array(CTX_SLOTS);

  // IOTLB, by (domain, 4 KiB IOVA page) hash: the 4 KiB host page, effective R/W, and the mapping's size.
  private readonly tlbValid = new Uint8Array(TLB_SLOTS);
  private readonly tlbDid = new Uint16Array(TLB_SLOTS);
  private readonly tlbPfnHi = new Uint32Array(TLB_SLOTS);
  private readonly tlbPfnLo = new Uint32Array(TLB_SLOTS);
  private readonly tlbHpaHi = new Uint32Array(TLB_SLOTS);
  private readonly tlbHpaLo = new Uint32Array(TLB_SLOTS);
  private readonly tlbPerm = new Uint8Array(TLB_SLOTS);
  private readonly tlbShift = new Uint8Array(TLB_SLOTS);

  // Scratch for the last 64-bit table read.
  private qHi = 0;
  private qLo = 0;
  // The context in use by the current request.
  private did = 0;
  private aw = 0;
  private passThrough = false;
  private tableHi = 0;
  private tableLo = 0;

  constructor(private readonly memory: PhysicalMemory) {}

  /** Translates the 4 KiB page holding iova (iovaHi:iovaLo, 64-bit) for requester `sid`. */
  translate(sid: number, iovaHi: number, iovaLo: number, isWrite: boolean): number {
    this.fpd = false;
    const fr = this.context(sid);
    if (fr !== 0) return fr;
    if (this.passThrough) {
      this.hpaHi = iovaHi;
      this.hpaLo = iovaLo;
      return 0;
    }
    const width = Math.min(30 + 9 * this.aw, MGAW_BITS);
    if ((iovaHi >>> (width - 32)) !== 0) return FaultReason.AddressBeyondWidth;
    const pfnLo = ((iovaLo >>> 12) | (iovaHi << 20)) >>> 0;
    const pfnHi = iovaHi >>> 12;
    const slot = (pfnLo ^ Math.imul(this.did, 0x9e5) ^ pfnHi) & (TLB_SLOTS - 1);
    if (this.tlbValid[slot] !== 0 && this.tlbDid[slot] === this.did && this.tlbPfnLo[slot] === pfnLo && this.tlbPfnHi[slot] === pfnHi) {
      this.stats.iotlbHits++;
      const perm = this.tlbPerm[slot];
      if (isWrite ? (perm & PTE_W) === 0 : (perm & PTE_R) === 0) return isWrite ? FaultReason.WriteDenied : FaultReason.ReadDenied;
      this.hpaHi = this.tlbHpaHi[slot];
      this.hpaLo = (this.tlbHpaLo[slot] | (iovaLo & 0xfff)) >>> 0;
      return 0;
    }
    this.stats.iotlbMisses++;
    const walked = this.walk(iovaHi, iovaLo, isWrite);
    if (walked < 0) return -walked;
    this.tlbValid[slot] = 1;
    this.tlbDid[slot] = this.did;
    this.tlbPfnLo[slot] = pfnLo;
    this.tlbPfnHi[slot] = pfnHi;
    this.tlbHpaHi[slot] = this.hpaHi;
    this.tlbHpaLo[slot] = this.hpaLo & 0xfffff000;
    this.tlbPerm[slot] = walked & 3;
    this.tlbShift[slot] = walked >>> 8;
    return 0;
  }

  /**
   * The second-level walk (devices.md 3.5). Returns -reason on a fault, else effective R/W in bits 1:0
   * and the mapping's size shift (12 or 21) in bits 15:8, with the page's address in hpaHi:hpaLo.
   */
  private walk(iovaHi: number, iovaLo: number, isWrite: boolean): number {
    this.stats.walks++;
    const need = isWrite ? PTE_W : PTE_R;
    const top = this.aw + 2;
    let tableHi = this.tableHi;
    let tableLo = this.tableLo;
    let perm = PTE_R | PTE_W;
    for (let level = top; level >= 1; level--) {
      const index = levelIndex(iovaHi, iovaLo, level);
      if (!this.readQword(tableHi, tableLo + index * 8)) {
        return -(level === top ? FaultReason.ContextInvalid : FaultReason.PagingEntryError);
      }
      const lo = this.qLo;
      const hi = this.qHi;
      if ((lo & need) === 0) return -(isWrite ? FaultReason.WriteDenied : FaultReason.ReadDenied);
      perm &= lo;
      const large = level > 1 && (lo & PTE_PS) !== 0;
      let rsvdLo = PTE_SNP;
      if (large) rsvdLo |= level === 2 && SUPPORTS_2M ? 0x001ff000 : PTE_PS; // unaligned 2 MiB frame; 1 GiB absent
      if (level === 4) rsvdLo |= PTE_PS;
      if ((lo & rsvdLo) !== 0 || (hi & PTE_RSVD_HI) !== 0) return -FaultReason.PagingEntryReserved;
      if (level === 1 || large) {
        this.hpaHi = hi & 0x7f;
        this.hpaLo = large ? ((lo & 0xffe00000) | (iovaLo & 0x001ff000)) >>> 0 : (lo & 0xfffff000) >>> 0;
        this.hpaLo = (this.hpaLo | (iovaLo & 0xfff)) >>> 0;
        return (perm & 3) | ((large ? 21 : 12) << 8);
      }
      tableHi = hi & 0x7f;
      tableLo = (lo & 0xfffff000) >>> 0;
    }
    return -FaultReason.PagingEntryError; // unreachable: level 1 always ends the walk
  }

  /** Finds the context for sid (cache, else root and context tables); fills did/aw/table/passThrough. */
  private context(sid: number): number {
    const slot = (sid ^ (sid >>> 8)) & (CTX_SLOTS - 1);
    if (this.ctxValid[slot] !== 0 && this.ctxSid[slot] === sid) {
      this.stats.contextHits++;
      this.did = this.ctxDid[slot];
      this.aw = this.ctxAw[slot];
      this.passThrough = this.ctxPassThrough[slot] !== 0;
      this.fpd = this.ctxFpd[slot] !== 0;
      this.tableHi = this.ctxTableHi[slot];
      this.tableLo = this.ctxTableLo[slot];
      return 0;
    }
    this.stats.contextMisses++;
    const bus = sid >>> 8;
    if (!this.readQword(this.rootHi, this.rootLo + bus * 16)) return FaultReason.RootReadError;
    const rootLo = this.qLo;
    const rootHi = this.qHi;
    if ((rootLo & 1) === 0) return FaultReason.RootNotPresent;
    if (!this.readQword(this.rootHi, this.rootLo + bus * 16 + 8)) return FaultReason.RootReadError;
    if ((rootLo & 0xffe) !== 0 || (rootHi & ABOVE_HAW_HI) !== 0 || this.qLo !== 0 || this.qHi !== 0) return FaultReason.RootReserved;
    const ctxHi = rootHi;
    const ctxLo = ((rootLo & 0xfffff000) >>> 0) + (sid & 0xff) * 16;
    if (!this.readQword(ctxHi, ctxLo)) return FaultReason.ContextReadError;
    const lo = this.qLo;
    const hi = this.qHi;
    if (!this.readQword(ctxHi, ctxLo + 8)) return FaultReason.ContextReadError;
    this.fpd = (lo & 2) !== 0; // evaluated whatever P says (VT-d 9.3)
    if ((lo & 1) === 0) return FaultReason.ContextNotPresent;
    const upperLo = this.qLo;
    if ((lo & 0xff0) !== 0 || (hi & ABOVE_HAW_HI) !== 0 || (upperLo & 0xff000080) !== 0 || this.qHi !== 0) {
      return FaultReason.ContextReserved;
    }
    const aw = upperLo & 7;
    const sagaw = aw === 1 ? SAGAW_39 : aw === 2 ? SAGAW_48 : 0;
    const tt = (lo >>> 2) & 3;
    if (sagaw === 0 || tt === 1 || tt === 3) return FaultReason.ContextInvalid; // no DT; 11 is reserved
    this.did = (upperLo >>> 8) & 0xffff;
    this.aw = aw;
    this.passThrough = tt === 2;
    this.tableHi = hi & 0x7f;
    this.tableLo = (lo & 0xfffff000) >>> 0;
    this.ctxValid[slot] = 1;
    this.ctxSid[slot] = sid;
    this.ctxDid[slot] = this.did;
    this.ctxAw[slot] = aw;
    this.ctxPassThrough[slot] = this.passThrough ? 1 : 0;
    this.ctxFpd[slot] = this.fpd ? 1 : 0;
    this.ctxTableHi[slot] = this.tableHi;
    this.ctxTableLo[slot] = this.tableLo;
    return 0;
  }

  /** Reads a table qword into qHi:qLo; false when it is not in RAM (tables are never read from MMIO). */
  private readQword(hi: number, lo: number): boolean {
    const a = lo >>> 0;
    if (hi !== 0 || a + 8 > this.memory.ramBytes) return false;
    this.qLo = this.memory.read(a, 4) >>> 0;
    this.qHi = this.memory.read(a + 4, 4) >>> 0;
    return true;
  }

  // ---- invalidation (VT-d 6.5) ----

  /**
   * Context-cache invalidation by CIRG/G encoding (1 global, 2 domain `did`, 3 device: source IDs equal to
   * `sid` outside the function bits masked by `fm`). IOTLB entries of every affected domain go with them.
   */
  invalidateContexts(granularity: ContextGranularity, did: number, sid: number, fm: number): void {
    if (granularity === ContextGranularity.Global) return this.invalidateAll();
    const mask = FM_MASKS[fm & 3];
    for (let i = 0; i < CTX_SLOTS; i++) {
      if (this.ctxValid[i] === 0) continue;
      const hit = granularity === ContextGranularity.Domain ? this.ctxDid[i] === did : (this.ctxSid[i] & mask) === (sid & mask);
      if (!hit) continue;
      this.ctxValid[i] = 0;
      this.invalidateDomain(this.ctxDid[i]); // the context's domain may change with it
    }
  }

  invalidateAll(): void {
    this.ctxValid.fill(0);
    this.tlbValid.fill(0);
  }

  invalidateDomain(did: number): void {
    for (let i = 0; i < TLB_SLOTS; i++) if (this.tlbDid[i] === did) this.tlbValid[i] = 0;
  }

  /** Page-selective: 2^am pages from the (aligned) IOVA page addrHi:addrLo, in domain did. */
  invalidatePages(did: number, addrHi: number, addrLo: number, am: number): void {
    const first = addrHi * 0x100000 + (addrLo >>> 12); // page number, exact below 2^53
    const count = 2 ** am;
    const start = first - (first % count);
    for (let i = 0; i < TLB_SLOTS; i++) {
      if (this.tlbValid[i] === 0 || this.tlbDid[i] !== did) continue;
      const span = 2 ** (this.tlbShift[i] - 12);
      const pfn = this.tlbPfnHi[i] * 0x1_0000_0000 + this.tlbPfnLo[i];
      const base = pfn - (pfn % span);
      if (base < start + count && start < base + span) this.tlbValid[i] = 0;
    }
  }

  /** Cached entries, for the debugger. */
  cachedCounts(): { contexts: number; iotlb: number } {
    let contexts = 0;
    let iotlb = 0;
    for (let i = 0; i < CTX_SLOTS; i++) contexts += this.ctxValid[i];
    for (let i = 0; i < TLB_SLOTS; i++) iotlb += this.tlbValid[i];
    return { contexts, iotlb };
  }
}

/** Index into the level-L table: iova bits (20 + 9L) : (12 + 9(L - 1)). */
function levelIndex(iovaHi: number, iovaLo: number, level: number): number {
  switch (level) {
    case 1:
      return (iovaLo >>> 12) & 0x1ff;
    case 2:
      return (iovaLo >>> 21) & 0x1ff;
    case 3:
      return ((iovaLo >>> 30) | (iovaHi << 2)) & 0x1ff;
    default:
      return (iovaHi >>> 7) & 0x1ff;
  }
}
