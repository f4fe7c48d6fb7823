// EPT: guest-physical to host-physical translation (the 4-level walk, misconfiguration and violation rules,
// A/D flags, a GPA-page TLB, INVEPT), the EPTP validity check and IA32_VMX_EPT_VPID_CAP. Turning a failed
// translation into a VM exit (exit reason, qualification bits 7-8, guest-linear address) is the caller's.

// Section numbers are those of the SDM Vol. 3C 2023 edition (29 "VMX Support for Address Translation",
// 27 "VM Entries", 28 "VM Exits"); older editions number the same sections one chapter lower.

import type { PhysicalMemory } from '../core/physical-memory.js';

/**
 * IA32_VMX_EPT_VPID_CAP (MSR 48C, SDM Appendix A.10), low dword: 4-level walk (6), UC (8) and WB (14)
 * paging-structure memory types, 2 MiB pages (16), INVEPT (20), A/D flags (21), single-context (25) and
 * all-context (26) INVEPT. Not reported: execute-only entries (0), 5-level walk (7), 1 GiB pages (17),
 * advanced exit information (22).
 */
export const EPT_VPID_CAP_LO = (1 << 6) | (1 << 8) | (1 << 14) | (1 << 16) | (1 << 20) | (1 << 21) | (1 << 25) | (1 << 26);
/** High dword: no INVVPID (bit 32) and none of its types (40-43). */
export const EPT_VPID_CAP_HI = 0;

const CAP_EXECUTE_ONLY = (EPT_VPID_CAP_LO & (1 << 0)) !== 0;
const CAP_WALK_4 = (EPT_VPID_CAP_LO & (1 << 6)) !== 0;
const CAP_UC = (EPT_VPID_CAP_LO & (1 << 8)) !== 0;
const CAP_WB = (EPT_VPID_CAP_LO & (1 << 14)) !== 0;
const CAP_2M = (EPT_VPID_CAP_LO & (1 << 16)) !== 0;
const CAP_AD = (EPT_VPID_CAP_LO & (1 << 21)) !== 0;

/** The kind of access; the values are the R/W/X permission bits each needs. */
export const enum EptAccess {
  Read = 1,
  Write = 2,
  Fetch = 4,
}

export const enum EptResult {
  Ok = 0,
  Violation = 1,
  Misconfig = 2,
}

// Entry bits (SDM 29.3.2, Tables 29-1 to 29-6).
const R = 1;
const W = 2;
const X = 4;
const PS = 1 << 7;
const ACCESSED = 1 << 8;
const DIRTY = 1 << 9;
/** Bits 51:32 of an entry (high dword bits 19:0): reserved, beyond MAXPHYADDR = 32. 62:52 and 63 are ignored. */
const RSVD_HI = 0x000f_ffff;
/** PML4E bits 7:3 are reserved. */
const RSVD_PML4E = 0xf8;
/** Non-leaf PDPTE / PDE bits 6:3 are reserved. */
const RSVD_TABLE = 0x78;
/** 2 MiB leaf bits 20:12 are reserved. */
const RSVD_2M = 0x001f_f000;
/** Bit n set = bits 2:0 value n is a misconfiguration: 010b, 110b, and 100b without execute-only support. */
const BAD_RWX = (1 << 2) | (1 << 6) | (CAP_EXECUTE_ONLY ? 0 : 1 << 4);
/** Bit n set = leaf memory type n is reserved (2, 3, 7). */
const BAD_MEMTYPE = (1 << 2) | (1 << 3) | (1 << 7);

// TLB entry: HPA page (bits 31:12) | the access kinds a hit may serve without a walk.
const TLB_R = R;
/** W in every entry walked and, with A/D on, the leaf's dirty flag already set. */
const TLB_W = W;
const TLB_X = X;
const TLB_FILL_MAX = 4096;

/**
 * EPT for one logical processor. `translate` is allocation-free: a hit is one typed-array load; a miss
 * walks the tables through PhysicalMemory (a table outside RAM and MMIO reads as all-ones, which is a
 * misconfiguration by its reserved bits 51:32). Only successful translations are cached (SDM 29.4.2:
 * nothing derived from a not-present or misconfigured entry is cached); a failed translation drops the
 * GPA's cached mapping (SDM 29.4.3.1: an EPT violation invalidates the mappings that would translate it).
 */
export class Ept {
  result: EptResult = EptResult.Ok;
  /** EPT-violation exit qualification bits 5:0 (SDM 28.2.1, Table 28-7); 0 for a misconfiguration. */
  qualification = 0;
  faultGpa = 0;
  lastWritable = false;
  lastExecutable = false;
  walks = 0;
  hits = 0;

  private eptpLo = 0;
  private eptpHi = 0;
  private pml4 = 0;
  private ad = false;
  private readonly tlb = new Int32Array(1 << 20);
  private readonly tlbFilled = new Int32Array(TLB_FILL_MAX);
  private tlbCount = 0;
  /** Scratch for one walk: entry HPA and low dword per level (0 = PML4E .. 3 = PTE). */
  private readonly entryHpa = new Int32Array(4);
  private readonly entryLo = new Int32Array(4);

  constructor(private readonly memory: PhysicalMemory) {}

  /** Loads an EPT pointer (SDM 25.6.11); the caller has validated it. Flushes cached translations if it changed. */
  setPointer(lo: number, hi: number): void {
    lo |= 0;
    hi |= 0;
    if (lo === this.eptpLo && hi === this.eptpHi) return;
    this.eptpLo = lo;
    this.eptpHi = hi;
    this.pml4 = lo & ~0xfff;
    this.ad = (lo & 0x40) !== 0;
    this.flush();
  }

  /**
   * Translates `gpa` for `access`; `pagingStructure` = the CPU is reading or writing a guest paging-structure
   * entry. With A/D enabled such accesses are treated as writes (SDM 29.3.3.2): they need W, set the leaf's
   * dirty flag (SDM 29.3.5), and a violation reports both bits 0 and 1 (SDM Table 28-7, note). Returns the
   * HPA as an unsigned 32-bit number, or -1 with `result`, `qualification` and `faultGpa` set.
   */
  translate(gpa: number, access: EptAccess, pagingStructure: boolean): number {
    const need = pagingStructure && this.ad ? W : access;
    const e = this.tlb[gpa >>> 12];
    if ((e & need) !== 0) {
      this.hits++;
      this.result = EptResult.Ok;
      this.lastWritable = (e & TLB_W) !== 0;
      this.lastExecutable = (e & TLB_X) !== 0;
      return ((e & ~0xfff) | (gpa & 0xfff)) >>> 0;
    }
    return this.walk(gpa >>> 0, need, pagingStructure && this.ad ? R | W : access);
  }

  /** INVEPT (SDM 31.3): single-context for the EPTP in lo:hi (matched on bits 51:12), or all-context with no arguments. */
  invalidate(lo?: number, hi?: number): void {
    if (lo === undefined) {
      this.flush();
      return;
    }
    // Only the current EPTP's mappings are ever cached (setPointer flushes on a change).
    if ((lo & ~0xfff) === this.pml4 && ((hi ?? 0) | 0) === this.eptpHi) this.flush();
  }

  /** The walk of SDM 29.3.2, with the checks of 29.3.3.1 on each entry as it is read, then 29.3.3.2 on the result. */
  private walk(gpa: number, need: number, accessBits: number): number {
    this.walks++;
    const memory = this.memory;
    let table = this.pml4;
    let rights = R | W | X;
    let hpa = 0;
    let leaf = 0;
    for (let level = 0; level < 4; level++) {
      // PML4 index = GPA bits 47:39, always 0 for a 32-bit GPA; then 38:30, 29:21, 20:12.
      const index = level === 0 ? 0 : (gpa >>> (39 - 9 * level)) & 0x1ff;
      const at = (table + index * 8) | 0;
      const lo = memory.read(at, 4);
      const hi = memory.read(at + 4, 4);
      const rwx = lo & 7;
      if (rwx === 0) return this.violation(gpa, accessBits, 0); // not present: bits 5:3 are all 0
      if (((BAD_RWX >>> rwx) & 1) !== 0 || (hi & RSVD_HI) !== 0) return this.misconfig(gpa);
      this.entryHpa[level] = at;
      this.entryLo[level] = lo;
      rights &= rwx;
      if (level === 0) {
        if ((lo & RSVD_PML4E) !== 0) return this.misconfig(gpa);
      } else if (level === 3 || (lo & PS) !== 0) {
        // A leaf: PTE (bit 7 ignored), or a PDE with bit 7 (2 MiB); a PDPTE with bit 7 (1 GiB) is reserved here.
        if (level === 1) return this.misconfig(gpa); // !CAP_1G
        if (level === 2 && (!CAP_2M || (lo & RSVD_2M) !== 0)) return this.misconfig(gpa);
        if (((BAD_MEMTYPE >>> ((lo >>> 3) & 7)) & 1) !== 0) return this.misconfig(gpa);
        hpa = level === 3 ? (lo & ~0xfff) | (gpa & 0xfff) : (lo & ~0x1f_ffff) | (gpa & 0x1f_ffff);
        leaf = level;
        break;
      } else if ((lo & RSVD_TABLE) !== 0) {
        return this.misconfig(gpa);
      }
      table = lo & ~0xfff;
    }
    if ((rights & need) === 0) return this.violation(gpa, accessBits, rights);

    // SDM 29.3.5: accessed on every entry used, dirty on the leaf for a write; written back only on a change.
    let writable = (rights & W) !== 0;
    if (this.ad) {
      for (let level = 0; level <= leaf; level++) {
        const lo = this.entryLo[level];
        let next = lo | ACCESSED;
        if (level === leaf) {
          if (need === W) next |= DIRTY;
          else if ((lo & DIRTY) === 0) writable = false; // a later write must walk to set it
        }
        if (next !== lo) memory.write(this.entryHpa[level], 4, next);
      }
    }
    const page = gpa >>> 12;
    if (this.tlb[page] === 0) {
      if (this.tlbCount < TLB_FILL_MAX) this.tlbFilled[this.tlbCount] = page;
      this.tlbCount++;
    }
    this.tlb[page] = (hpa & ~0xfff) | TLB_R | (writable ? TLB_W : 0) | (rights & TLB_X);
    this.lastWritable = writable;
    this.lastExecutable = (rights & X) !== 0;
    this.result = EptResult.Ok;
    return hpa >>> 0;
  }

  private violation(gpa: number, accessBits: number, rights: number): number {
    this.tlb[gpa >>> 12] = 0;
    this.result = EptResult.Violation;
    this.qualification = accessBits | (rights << 3);
    this.faultGpa = gpa;
    return -1;
  }

  private misconfig(gpa: number): number {
    this.tlb[gpa >>> 12] = 0;
    this.result = EptResult.Misconfig;
    this.qualification = 0;
    this.faultGpa = gpa;
    return -1;
  }

  private flush(): void {
    if (this.tlbCount > TLB_FILL_MAX) this.tlb.fill(0);
    else for (let i = 0; i < this.tlbCount; i++) this.tlb[this.tlbFilled[i]] = 0;
    this.tlbCount = 0;
  }
}

/**
 * The EPTP checks of VM entry (SDM 27.2.1.1) and INVEPT single-context (SDM 31.3) against the capabilities
 * above: memory type UC or WB, page-walk length 4, A/D only if supported, bits 11:7 and 63:32 (MAXPHYADDR
 * = 32) zero; bit 7 (supervisor shadow-stack control) is reserved without CET. Null if valid.
 */
export function eptPointerProblem(lo: number, hi: number): string | null {
  const memType = lo & 7;
  if (!((memType === 0 && CAP_UC) || (memType === 6 && CAP_WB))) return 'EPTP memory type';
  if (((lo >>> 3) & 7) !== 3 || !CAP_WALK_4) return 'EPTP page-walk length';
  if ((lo & 0x40) !== 0 && !CAP_AD) return 'EPTP accessed/dirty flags';
  if ((lo & 0xf80) !== 0 || hi !== 0) return 'EPTP reserved bits';
  return null;
}

/**
 * Builds EPT tables in memory for tests and the hypervisor: RWX non-leaf entries, leaves with the given
 * permissions (bits 2:0) and memory type. Not a hot path; misuse (overlapping page sizes, misalignment)
 * throws.
 */
export class EptBuilder {
  readonly pml4: number;

  constructor(
    private readonly memory: PhysicalMemory,
    private readonly allocatePage: () => number,
  ) {
    this.pml4 = allocatePage();
  }

  map4k(gpa: number, hpa: number, perms: number, memType = 6): void {
    if (((gpa | hpa) & 0xfff) !== 0) throw new RangeError('map4k: addresses must be 4 KiB aligned');
    const pde = this.tableEntry(gpa, 2, true);
    const old = this.memory.read(pde, 4);
    if ((old & PS) !== 0) throw new Error(`map4k: ${gpa.toString(16)} is inside a 2 MiB page`);
    if ((old & 7) === 0) this.setEntry(pde, this.allocatePage() | R | W | X);
    const pt = this.nextTable(pde);
    this.setEntry(pt + ((gpa >>> 12) & 0x1ff) * 8, (hpa & ~0xfff) | ((memType & 7) << 3) | (perms & 7));
  }

  map2m(gpa: number, hpa: number, perms: number, memType = 6): void {
    if (((gpa | hpa) & 0x1f_ffff) !== 0) throw new RangeError('map2m: addresses must be 2 MiB aligned');
    const pde = this.tableEntry(gpa, 2, true);
    const old = this.memory.read(pde, 4);
    if ((old & 7) !== 0 && (old & PS) === 0) throw new Error(`map2m: ${gpa.toString(16)} already has a page table`);
    this.setEntry(pde, (hpa & ~0x1f_ffff) | PS | ((memType & 7) << 3) | (perms & 7));
  }

  /** Clears the leaf (PTE or 2 MiB PDE) mapping gpa, if there is one. */
  unmap(gpa: number): void {
    const pde = this.tableEntry(gpa, 2, false);
    if (pde < 0) return;
    const lo = this.memory.read(pde, 4);
    if ((lo & 7) === 0) return;
    if ((lo & PS) !== 0) this.setEntry(pde, 0);
    else this.setEntry((lo & ~0xfff) + ((gpa >>> 12) & 0x1ff) * 8, 0);
  }

  /**
   * HPA of the entry for gpa at `level` (0 PML4E, 1 PDPTE, 2 PDE, 3 PTE), or -1 if a table on the way is
   * missing or a 2 MiB page sits above it. For tests that corrupt entries on purpose.
   */
  entryAddress(gpa: number, level: 0 | 1 | 2 | 3): number {
    return this.tableEntry(gpa, level, false);
  }

  /** The EPTP for these tables: WB paging structures (6), 4-level walk (3 << 3), A/D enable (bit 6). */
  eptpLo(ad: boolean): number {
    return (this.pml4 | 6 | (3 << 3) | (ad ? 0x40 : 0)) | 0;
  }

  private tableEntry(gpa: number, level: number, create: boolean): number {
    let table = this.pml4;
    for (let l = 0; ; l++) {
      const index = l === 0 ? 0 : (gpa >>> (39 - 9 * l)) & 0x1ff;
      const at = table + index * 8;
      if (l === level) return at;
      const lo = this.memory.read(at, 4);
      if ((lo & PS) !== 0 && l > 0) return -1;
      if ((lo & 7) === 0) {
        if (!create) return -1;
        this.setEntry(at, this.allocatePage() | R | W | X);
      }
      table = this.nextTable(at);
    }
  }

  private nextTable(entry: number): number {
    return (this.memory.read(entry, 4) & ~0xfff) >>> 0;
  }

  private setEntry(at: number, lo: number): void {
    this.memory.write(at, 4, lo);
    this.memory.write(at + 4, 4, 0);
  }
}
