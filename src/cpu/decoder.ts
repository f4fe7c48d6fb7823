// The instruction decoder: prefixes, opcode maps, ModRM/SIB/displacement and immediates, into the
// decoded-instruction cache (struct of arrays). What each opcode means lives in optable.ts.

import type { Cpu } from './cpu.js';

/** Executes one decoded instruction; `s` is its slot in the decode cache. EIP already points past it. */
export type Handler = (cpu: Cpu, s: number) => void;

/** Immediate operand kinds that follow ModRM (SDM Vol. 2 appendix A operand codes). */
export const enum Imm {
  None = 0,
  B = 1, // ib, sign-extended into imm
  W = 2, // iw, zero-extended
  Z = 3, // iz: 16 or 32 bits by operand size
  BW = 4, // ENTER: iw then ib (ib into imm2)
  P = 5, // Ap: ptr16:16/32 (offset into imm, selector into imm2)
  O = 6, // moffs: a 32-bit address (into disp, no ModRM)
  D = 7, // id: always 32 bits
}

/** Where a memory operand may be (restrictions that make other forms invalid, as iced-x86 and the SDM say). */
export const enum ModForm {
  Any = 0,
  MemOnly = 1,
  RegOnly = 2,
  /** MOV to/from CRn/DRn: the mod bits are ignored and r/m always names a register (SDM Vol. 2 MOV CR). */
  RegAlways = 3,
}

export interface OpEntry {
  mnem: string;
  /** Mnemonic when the operand-size prefix is present, where it differs (cwde/cbw). */
  mnem16?: string;
  modrm: boolean;
  imm: Imm;
  h32: Handler;
  /** Handler under the 0x66 prefix; defaults to h32 (for instructions whose size the prefix does not change). */
  h16?: Handler;
  /** LOCK allowed (with a memory destination). */
  lock?: boolean;
  form?: ModForm;
  /** An F3 prefix makes this a different (unsupported) instruction: tzcnt, lzcnt, popcnt. */
  noF3?: boolean;
  /** An F2 or F3 prefix is a REP prefix for this string instruction. */
  rep?: boolean;
  /** Extra cycles beyond the default 1 (DESIGN.md time model). */
  cycles?: number;
  /**
   * Mandatory prefixes (VMX instructions: 66/F3 pick VMCLEAR/VMXON out of 0F C7 /6): the mnemonic for the
   * prefixes present, or null when the combination is undefined (#UD at decode, as iced-x86 and the SDM say).
   */
  byPrefix?: (pfx: number) => string | null;
}

/** A group opcode: the entry is chosen by ModRM.reg. */
export interface OpGroup {
  group: (OpEntry | null)[];
  imm: Imm;
  /** For 0F 01 and friends: entries for mod = 3 chosen by the whole ModRM byte. */
  reg3?: Map<number, OpEntry>;
}

export type OpSlot = OpEntry | OpGroup | null;

/** Decoded-instruction field arrays. Slot 0 is never used, slot 1 is the scratch slot for uncached decodes. */
export class DecodeCache {
  static readonly SLOTS = 1 << 18;
  readonly op = new Uint16Array(DecodeCache.SLOTS);
  readonly len = new Uint8Array(DecodeCache.SLOTS);
  /** ModRM.reg, or the register encoded in the opcode (50+r), or the condition code for Jcc/SETcc/CMOVcc. */
  readonly reg = new Uint8Array(DecodeCache.SLOTS);
  /** ModRM.rm register for mod = 3; RM_MEM when the operand is in memory. */
  readonly rm = new Uint8Array(DecodeCache.SLOTS);
  /** Base and index registers; NO_REG when absent. */
  readonly base = new Uint8Array(DecodeCache.SLOTS);
  readonly index = new Uint8Array(DecodeCache.SLOTS);
  readonly scale = new Uint8Array(DecodeCache.SLOTS);
  /** Segment register of the memory operand (default or override); string sources use it too. */
  readonly seg = new Uint8Array(DecodeCache.SLOTS);
  readonly disp = new Int32Array(DecodeCache.SLOTS);
  readonly imm = new Int32Array(DecodeCache.SLOTS);
  readonly imm2 = new Int32Array(DecodeCache.SLOTS);
  /** Prefix bits: PFX_REP, PFX_REPNE, PFX_LOCK, PFX_OPSIZE. */
  readonly pfx = new Uint8Array(DecodeCache.SLOTS);
  /** 1 when slot s + 1 holds the instruction that follows s in the same page (cpu.ts execLoop). */
  readonly seq = new Uint8Array(DecodeCache.SLOTS);
}

export const RM_MEM = 8;
export const NO_REG = 8;
export const PFX_REP = 1;
export const PFX_REPNE = 2;
export const PFX_LOCK = 4;
export const PFX_OPSIZE = 8;
export const PFX_SEG = 16;

export const enum Seg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
}

/** The architectural maximum instruction length (SDM Vol. 2 2.3.11); longer raises #GP(0). */
export const MAX_INSN_LENGTH = 15;

/** Handler ids 0 and 1 are fixed: invalid opcode and over-long instruction. */
export const HANDLER_UD = 0;
export const HANDLER_TOO_LONG = 1;

/** The compiled table: handlers by id, entries by opcode (0x000-0x0FF one-byte, 0x100-0x1FF 0F xx). */
export interface CompiledTable {
  handlers: Handler[];
  ids: Map<Handler, number>;
  map: OpSlot[];
}

export interface DecodeInfo {
  length: number;
  mnemonic: string;
}

/**
 * Decodes one instruction from `bytes[0..avail)` into `slot`. Returns its length, or 0 when more
 * bytes are needed than `avail` (the caller fetches the next page and decodes again). Invalid encodings
 * get the #UD handler; too-long ones the #GP handler. When `info` is given, the mnemonic is reported
 * (for the iced-x86 oracle and the debugger); the hot path passes null.
 */
export function decode(
  t: CompiledTable,
  d: DecodeCache,
  slot: number,
  bytes: Uint8Array,
  avail: number,
  info: DecodeInfo | null,
): number {
  let pos = 0;
  let pfx = 0;
  let seg = -1;
  let b = 0;
  // Prefixes (SDM Vol. 2 2.1.1): any order, the last segment override wins.
  for (;;) {
    if (pos >= avail) return pos >= MAX_INSN_LENGTH ? tooLong(d, slot, info) : 0;
    b = bytes[pos++];
    if (b === 0x66) pfx |= PFX_OPSIZE;
    else if (b === 0xf3) pfx = (pfx & ~PFX_REPNE) | PFX_REP;
    else if (b === 0xf2) pfx = (pfx & ~PFX_REP) | PFX_REPNE;
    else if (b === 0xf0) pfx |= PFX_LOCK;
    else if (b === 0x26) seg = Seg.ES;
    else if (b === 0x2e) seg = Seg.CS;
    else if (b === 0x36) seg = Seg.SS;
    else if (b === 0x3e) seg = Seg.DS;
    else if (b === 0x64) seg = Seg.FS;
    else if (b === 0x65) seg = Seg.GS;
    else if (b === 0x67) return invalid(d, slot, pos, info); // 16-bit addressing: not implemented (README)
    else break;
    if (pos >= MAX_INSN_LENGTH) return tooLong(d, slot, info);
  }
  let opcode = b;
  if (b === 0x0f) {
    if (pos >= avail) return 0;
    opcode = 0x100 | bytes[pos++];
    if (opcode === 0x138) {
      // Three-byte map 0F 38 (SDM Vol. 2 appendix A.3): only INVEPT here.
      if (pos >= avail) return 0;
      opcode = 0x200 | bytes[pos++];
    }
  }
  let entrySlot = t.map[opcode];
  if (entrySlot === null) return invalid(d, slot, pos, info);

  let reg = opcode & 7;
  let rm = RM_MEM;
  let base = NO_REG;
  let index = NO_REG;
  let scale = 0;
  let disp = 0;
  let defSeg = Seg.DS;
  let entry: OpEntry;
  let imm: Imm;
  const needsModrm = 'group' in entrySlot || entrySlot.modrm;
  if (needsModrm) {
    if (pos >= avail) return 0;
    const m = bytes[pos++];
    const mod = m >> 6;
    reg = (m >> 3) & 7;
    const r = m & 7;
    if (mod === 3 || (!('group' in entrySlot) ? entrySlot.form : entrySlot.group[reg]?.form) === ModForm.RegAlways) {
      rm = r;
    } else {
      if (r === 4) {
        if (pos >= avail) return 0;
        const sib = bytes[pos++];
        scale = sib >> 6;
        const idx = (sib >> 3) & 7;
        if (idx !== 4) index = idx;
        const bs = sib & 7;
        if (bs === 5 && mod === 0) {
          if (pos + 4 > avail) return 0;
          disp = read32(bytes, pos);
          pos += 4;
        } else {
          base = bs;
        }
      } else if (r === 5 && mod === 0) {
        if (pos + 4 > avail) return 0;
        disp = read32(bytes, pos);
        pos += 4;
      } else {
        base = r;
      }
      if (mod === 1) {
        if (pos >= avail) return 0;
        disp = (bytes[pos++] << 24) >> 24;
      } else if (mod === 2) {
        if (pos + 4 > avail) return 0;
        disp = read32(bytes, pos);
        pos += 4;
      }
      if (base === 4 || base === 5) defSeg = Seg.SS;
    }
    if ('group' in entrySlot) {
      imm = entrySlot.imm;
      let e: OpEntry | null | undefined;
      // mod = 3: a whole-ModRM entry (0F 01 C1 VMCALL...) if there is one, else the ModRM.reg entry, whose form
      // decides whether a register operand is valid (SMSW r32 / LMSW r16 are 0F 01 E0+r / F0+r).
      if (mod === 3 && entrySlot.reg3 !== undefined) e = entrySlot.reg3.get(m) ?? entrySlot.group[reg];
      else e = entrySlot.group[reg];
      if (e === null || e === undefined) return invalid(d, slot, pos, info);
      entry = e;
      if (entry.imm !== Imm.None) imm = entry.imm;
    } else {
      entry = entrySlot;
      imm = entry.imm;
    }
    if (entry.form === ModForm.MemOnly && rm !== RM_MEM) return invalid(d, slot, pos, info);
    if (entry.form === ModForm.RegOnly && rm === RM_MEM) return invalid(d, slot, pos, info);
  } else {
    entry = entrySlot;
    imm = entry.imm;
  }
  if ((pfx & PFX_LOCK) !== 0 && (entry.lock !== true || rm !== RM_MEM)) return invalid(d, slot, pos, info);
  let mnemonic: string | null = null;
  if (entry.byPrefix !== undefined) {
    mnemonic = entry.byPrefix(pfx);
    if (mnemonic === null) return invalid(d, slot, pos, info);
  }
  if ((pfx & PFX_REP) !== 0 && entry.noF3 === true) return invalid(d, slot, pos, info);

  let immVal = 0;
  let imm2 = 0;
  const op16 = (pfx & PFX_OPSIZE) !== 0;
  switch (imm) {
    case Imm.None:
      break;
    case Imm.B:
      if (pos >= avail) return 0;
      immVal = (bytes[pos++] << 24) >> 24;
      break;
    case Imm.W:
      if (pos + 2 > avail) return 0;
      immVal = bytes[pos] | (bytes[pos + 1] << 8);
      pos += 2;
      break;
    case Imm.Z:
      if (op16) {
        if (pos + 2 > avail) return 0;
        immVal = bytes[pos] | (bytes[pos + 1] << 8);
        pos += 2;
      } else {
        if (pos + 4 > avail) return 0;
        immVal = read32(bytes, pos);
        pos += 4;
      }
      break;
    case Imm.D:
      if (pos + 4 > avail) return 0;
      immVal = read32(bytes, pos);
      pos += 4;
      break;
    case Imm.BW:
      if (pos + 3 > avail) return 0;
      immVal = bytes[pos] | (bytes[pos + 1] << 8);
      imm2 = bytes[pos + 2];
      pos += 3;
      break;
    case Imm.P:
      if (op16) {
        if (pos + 4 > avail) return 0;
        immVal = bytes[pos] | (bytes[pos + 1] << 8);
        pos += 2;
      } else {
        if (pos + 6 > avail) return 0;
        immVal = read32(bytes, pos);
        pos += 4;
      }
      imm2 = bytes[pos] | (bytes[pos + 1] << 8);
      pos += 2;
      break;
    case Imm.O:
      if (pos + 4 > avail) return 0;
      disp = read32(bytes, pos);
      pos += 4;
      break;
  }
  if (pos > MAX_INSN_LENGTH) return tooLong(d, slot, info);

  const handler = op16 && entry.h16 !== undefined && mnemonic === null ? entry.h16 : entry.h32;
  d.op[slot] = t.ids.get(handler)!;
  d.len[slot] = pos;
  d.reg[slot] = reg;
  d.rm[slot] = rm;
  d.base[slot] = base;
  d.index[slot] = index;
  d.scale[slot] = scale;
  d.seg[slot] = seg >= 0 ? seg : defSeg;
  d.disp[slot] = disp;
  d.imm[slot] = immVal;
  d.imm2[slot] = imm2;
  d.pfx[slot] = pfx | (seg >= 0 ? PFX_SEG : 0);
  if (info !== null) {
    info.length = pos;
    info.mnemonic = mnemonic ?? (op16 && entry.mnem16 !== undefined ? entry.mnem16 : entry.mnem);
    if (opcode === 0x90 && (pfx & PFX_REP) !== 0) info.mnemonic = 'pause'; // F3 90: same no-op here
  }
  return pos;
}

function read32(bytes: Uint8Array, pos: number): number {
  return bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
}

function invalid(d: DecodeCache, slot: number, pos: number, info: DecodeInfo | null): number {
  d.op[slot] = HANDLER_UD;
  d.len[slot] = pos;
  d.pfx[slot] = 0;
  if (info !== null) {
    info.length = 0;
    info.mnemonic = '(bad)';
  }
  return pos;
}

function tooLong(d: DecodeCache, slot: number, info: DecodeInfo | null): number {
  d.op[slot] = HANDLER_TOO_LONG;
  d.len[slot] = MAX_INSN_LENGTH;
  d.pfx[slot] = 0;
  if (info !== null) {
    info.length = 0;
    info.mnemonic = '(bad)';
  }
  return MAX_INSN_LENGTH;
}
