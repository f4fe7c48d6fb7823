// The decoded-instruction cache's bookkeeping: which physical pages hold decoded instructions (page maps
// and byte coverage), the fetch fast path, and invalidation on stores (self-modifying code). Decoding is decoder.ts'.

import type { CodeWriteListener } from '../core/physical-memory.js';
import { PAGE_SHIFT } from '../core/physical-memory.js';
import type { Cpu } from './cpu.js';
import { DecodeCache, type DecodeInfo, MAX_INSN_LENGTH, Seg, decode } from './decoder.js';
import { Vector } from './interrupts.js';
import { TABLE } from './optable.js';

const EMPTY_MAP = new Int32Array(4096);

export class CodeCache implements CodeWriteListener {
  /** Per physical page: the slot of the instruction starting at each offset (0 = none decoded). */
  private readonly pageMaps: (Int32Array | null)[];
  /** Per code page: 1 for every byte some cached instruction covers (a store elsewhere needs no scan). */
  private readonly pageCover: (Uint8Array | null)[];
  private nextSlot = 2;
  /** The page map of the linear page last fetched from (the fast path in Cpu.execLoop), and its base. */
  fetchMap: Int32Array = EMPTY_MAP;
  fetchLin = 0;
  private readonly ibuf = new Uint8Array(MAX_INSN_LENGTH + 1);
  /** Statistics: decoded instructions dropped by guest stores, and whole-cache flushes. */
  smcInvalidations = 0;
  cacheFlushes = 0;

  constructor(private readonly cpu: Cpu) {
    const pages = cpu.memory.ramBytes >>> PAGE_SHIFT;
    this.pageMaps = new Array<Int32Array | null>(pages).fill(null);
    this.pageCover = new Array<Uint8Array | null>(pages).fill(null);
  }

  /** The linear-to-physical mapping or CS changed: the next fetch goes through translate(). */
  forgetFetchPage(): void {
    this.fetchMap = EMPTY_MAP;
  }

  /** Finds or decodes the instruction at a linear address, filling the cache when it lies within one RAM page. */
  fetchSlow(lin: number): number {
    const cpu = this.cpu;
    if ((cpu.eip >>> 0) > (cpu.segLimit[Seg.CS] >>> 0)) cpu.raise(Vector.GP, 0);
    const pa = cpu.translateFetch(lin);
    const page = pa >>> PAGE_SHIFT;
    const off = pa & 0xfff;
    const d = cpu.d;
    if (cpu.memory.isRam(pa)) {
      let map = this.pageMaps[page];
      if (map !== null) {
        const s = map[off];
        if (s !== 0) {
          this.setFetchPage(map, lin);
          return s;
        }
      }
      const avail = Math.min(MAX_INSN_LENGTH, 4096 - off);
      const length = decode(cpu.table, d, 1, cpu.ram8.subarray(pa, pa + avail), avail, null);
      if (length !== 0) {
        // Cache it (a copy out of the scratch slot).
        if (this.nextSlot >= DecodeCache.SLOTS) this.flush();
        if (map === null) {
          map = new Int32Array(4096);
          this.pageMaps[page] = map;
          this.pageCover[page] = new Uint8Array(4096);
        }
        cpu.codePages[page] = 1;
        const s = this.nextSlot++;
        copySlot(d, 1, s);
        d.seq[s] = 0;
        const cover = this.pageCover[page]!;
        for (let i = off, e = off + length; i < e; i++) cover[i] = 1;
        map[off] = s;
        this.setFetchPage(map, lin);
        return s;
      }
    }
    // Uncached: crossing a page, or fetching from MMIO/unbacked memory. Gather byte by byte.
    const buf = this.ibuf;
    for (let i = 0; i < MAX_INSN_LENGTH; i++) {
      const a = (lin + i) | 0;
      buf[i] = cpu.memory.read(cpu.translateFetch(a), 1);
      if (decode(cpu.table, d, 1, buf, i + 1, null) !== 0) return 1;
    }
    decode(cpu.table, d, 1, buf, MAX_INSN_LENGTH, null);
    return 1;
  }

  /** Remembers the page map for the fast path; only with a flat CS, whose limit needs no check per fetch. */
  private setFetchPage(map: Int32Array, lin: number): void {
    const cpu = this.cpu;
    if (cpu.segLimit[Seg.CS] === -1 && cpu.segBase[Seg.CS] === 0) {
      this.fetchMap = map;
      this.fetchLin = lin & ~0xfff;
    }
  }

  /** CodeWriteListener: a store hit a page with decoded instructions; drop the ones it may overlap. */
  codeWritten(gpa: number, length: number): void {
    const cpu = this.cpu;
    const page = gpa >>> PAGE_SHIFT;
    const map = this.pageMaps[page];
    if (map === null) return;
    const cover = this.pageCover[page]!;
    const off = gpa & 0xfff;
    const hi = Math.min(4096, off + length);
    let covered = false;
    for (let i = off; i < hi; i++) covered ||= cover[i] !== 0;
    if (!covered) return;
    const d = cpu.d;
    // Translated blocks embed the chains they were built from: drop them all (SMC that hits code is rare).
    cpu.translator?.clear();
    for (let i = Math.max(0, off - (MAX_INSN_LENGTH - 1)); i < hi; i++) {
      const s = map[i];
      if (s !== 0 && i + d.len[s] > off) {
        map[i] = 0;
        cpu.codeGen = (cpu.codeGen + 1) | 0;
        d.seq[s] = 0;
        d.seq[s - 1] = 0; // whatever chained into s
        this.smcInvalidations++;
      }
    }
  }

  flush(): void {
    const cpu = this.cpu;
    this.pageMaps.fill(null);
    this.pageCover.fill(null);
    cpu.codePages.fill(0);
    this.nextSlot = 2;
    this.fetchMap = EMPTY_MAP;
    cpu.translator?.clear();
    cpu.codeGen = (cpu.codeGen + 1) | 0;
    this.cacheFlushes++;
  }
}

function copySlot(d: DecodeCache, from: number, to: number): void {
  d.op[to] = d.op[from];
  d.len[to] = d.len[from];
  d.reg[to] = d.reg[from];
  d.rm[to] = d.rm[from];
  d.base[to] = d.base[from];
  d.index[to] = d.index[from];
  d.scale[to] = d.scale[from];
  d.seg[to] = d.seg[from];
  d.disp[to] = d.disp[from];
  d.imm[to] = d.imm[from];
  d.imm2[to] = d.imm2[from];
  d.pfx[to] = d.pfx[from];
}

let scratch: DecodeCache | null = null;
function scratchCache(): DecodeCache {
  scratch ??= new DecodeCache();
  return scratch;
}


/** Decodes without executing or caching (debugger, iced-x86 oracle). Returns null for #UD. */
export function decodeInfo(bytes: Uint8Array): DecodeInfo | null {
  const info: DecodeInfo = { length: 0, mnemonic: '' };
  const n = decode(TABLE, scratchCache(), 1, bytes, bytes.length, info);
  if (n === 0 || info.length === 0) return null;
  return info;
}
