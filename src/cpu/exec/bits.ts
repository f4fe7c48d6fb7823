// Bit instructions and atomics: BT BTS BTR BTC (register and imm8 offsets), BSF BSR, BSWAP, XADD, CMPXCHG,
// CMPXCHG8B. Operand plumbing is operands.ts'; ADD/CMP flag computation is alu.ts' (lazy flags).

import type { Cpu } from '../cpu.js';
import { Reg, R8 } from '../registers.js';
import { Imm, ModForm, RM_MEM, type Handler } from '../decoder.js';
import { Flag } from '../flags.js';
import type { TableBuilder } from '../table-builder.js';
import { AluOp, alu } from './alu.js';
import { getE16, getE32, getG16, getG32, getG8, setG16, setG32, setG8 } from './operands.js';

// --- BT / BTS / BTR / BTC (SDM Vol. 2 "BT", "BTS", "BTR", "BTC") ---

/** What happens to the selected bit, in opcode order (/4 BT, /5 BTS, /6 BTR, /7 BTC). */
const enum BitOp {
  Test = 0,
  Set = 1,
  Reset = 2,
  Complement = 3,
}

const BIT_NAMES = ['bt', 'bts', 'btr', 'btc'];

/** CF = the bit; ZF unaffected; OF/SF/AF/PF undefined, left unchanged here. */
function setCF(cpu: Cpu, bit: number): void {
  cpu.setArith((cpu.getFlags() & ~Flag.CF) | bit);
}

/** The operand with bit `bit` (0..31) set, reset or complemented. */
function applyBit(v: number, bit: number, op: number): number {
  switch (op) {
    case BitOp.Set:
      return v | (1 << bit);
    case BitOp.Reset:
      return v & ~(1 << bit);
    default:
      return v ^ (1 << bit);
  }
}

/**
 * The 32-bit form with an offset already reduced for a register operand, or a memory operand at
 * `off` (the effective address, moved by the bit string index for the register-offset form).
 */
function bitE32(cpu: Cpu, s: number, op: number, off: number, bit: number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    const v = cpu.reg32[r];
    setCF(cpu, (v >>> bit) & 1);
    if (op !== BitOp.Test) cpu.reg32[r] = applyBit(v, bit, op);
    return;
  }
  const seg = cpu.d.seg[s];
  if (op === BitOp.Test) {
    setCF(cpu, (cpu.read32(cpu.lin(seg, off, 4, false)) >>> bit) & 1);
    return;
  }
  const lin = cpu.lin(seg, off, 4, true);
  const v = cpu.rmw32(lin);
  setCF(cpu, (v >>> bit) & 1);
  cpu.write32(lin, applyBit(v, bit, op));
}

function bitE16(cpu: Cpu, s: number, op: number, off: number, bit: number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    const v = cpu.reg16[r << 1];
    setCF(cpu, (v >>> bit) & 1);
    if (op !== BitOp.Test) cpu.reg16[r << 1] = applyBit(v, bit, op);
    return;
  }
  const seg = cpu.d.seg[s];
  if (op === BitOp.Test) {
    setCF(cpu, (cpu.read16(cpu.lin(seg, off, 2, false)) >>> bit) & 1);
    return;
  }
  const lin = cpu.lin(seg, off, 2, true);
  const v = cpu.rmw16(lin);
  setCF(cpu, (v >>> bit) & 1);
  cpu.write16(lin, applyBit(v, bit, op));
}

/**
 * Register bit offset: for a memory operand it is a signed index into a bit string starting at the
 * effective address (SDM Vol. 2 "BT", table 3-2), so the address moves by whole operands.
 */
function bitEvGv32(cpu: Cpu, s: number, op: number): void {
  const index = cpu.reg32[cpu.d.reg[s]];
  const off = cpu.d.rm[s] === RM_MEM ? (cpu.offset(s) + ((index >> 5) << 2)) | 0 : 0;
  bitE32(cpu, s, op, off, index & 31);
}

function bitEvGv16(cpu: Cpu, s: number, op: number): void {
  const index = (cpu.reg16[cpu.d.reg[s] << 1] << 16) >> 16;
  const off = cpu.d.rm[s] === RM_MEM ? (cpu.offset(s) + ((index >> 4) << 1)) | 0 : 0;
  bitE16(cpu, s, op, off, index & 15);
}

/** Immediate bit offset: taken modulo the operand width; the memory operand does not move. */
function bitEvIb32(cpu: Cpu, s: number, op: number): void {
  const off = cpu.d.rm[s] === RM_MEM ? cpu.offset(s) : 0;
  bitE32(cpu, s, op, off, cpu.d.imm[s] & 31);
}

function bitEvIb16(cpu: Cpu, s: number, op: number): void {
  const off = cpu.d.rm[s] === RM_MEM ? cpu.offset(s) : 0;
  bitE16(cpu, s, op, off, cpu.d.imm[s] & 15);
}

const btGv32: Handler = (cpu, s) => bitEvGv32(cpu, s, BitOp.Test);
const btGv16: Handler = (cpu, s) => bitEvGv16(cpu, s, BitOp.Test);
const btsGv32: Handler = (cpu, s) => bitEvGv32(cpu, s, BitOp.Set);
const btsGv16: Handler = (cpu, s) => bitEvGv16(cpu, s, BitOp.Set);
const btrGv32: Handler = (cpu, s) => bitEvGv32(cpu, s, BitOp.Reset);
const btrGv16: Handler = (cpu, s) => bitEvGv16(cpu, s, BitOp.Reset);
const btcGv32: Handler = (cpu, s) => bitEvGv32(cpu, s, BitOp.Complement);
const btcGv16: Handler = (cpu, s) => bitEvGv16(cpu, s, BitOp.Complement);
const btIb32: Handler = (cpu, s) => bitEvIb32(cpu, s, BitOp.Test);
const btIb16: Handler = (cpu, s) => bitEvIb16(cpu, s, BitOp.Test);
const btsIb32: Handler = (cpu, s) => bitEvIb32(cpu, s, BitOp.Set);
const btsIb16: Handler = (cpu, s) => bitEvIb16(cpu, s, BitOp.Set);
const btrIb32: Handler = (cpu, s) => bitEvIb32(cpu, s, BitOp.Reset);
const btrIb16: Handler = (cpu, s) => bitEvIb16(cpu, s, BitOp.Reset);
const btcIb32: Handler = (cpu, s) => bitEvIb32(cpu, s, BitOp.Complement);
const btcIb16: Handler = (cpu, s) => bitEvIb16(cpu, s, BitOp.Complement);

// --- BSF / BSR: source 0 sets ZF and leaves the destination unchanged (as processors do; AMD documents
// it). CF/OF/SF/AF/PF are undefined and left unchanged. ---

function setZF(cpu: Cpu, zero: boolean): void {
  cpu.setArith((cpu.getFlags() & ~Flag.ZF) | (zero ? Flag.ZF : 0));
}

const bsf32: Handler = (cpu, s) => {
  const v = getE32(cpu, s);
  setZF(cpu, v === 0);
  if (v !== 0) setG32(cpu, s, 31 - Math.clz32(v & -v));
};
const bsf16: Handler = (cpu, s) => {
  const v = getE16(cpu, s);
  setZF(cpu, v === 0);
  if (v !== 0) setG16(cpu, s, 31 - Math.clz32(v & -v));
};
const bsr32: Handler = (cpu, s) => {
  const v = getE32(cpu, s);
  setZF(cpu, v === 0);
  if (v !== 0) setG32(cpu, s, 31 - Math.clz32(v));
};
const bsr16: Handler = (cpu, s) => {
  const v = getE16(cpu, s);
  setZF(cpu, v === 0);
  if (v !== 0) setG16(cpu, s, 31 - Math.clz32(v));
};

// --- BSWAP (0F C8+r). With 0x66 the SDM leaves the result undefined; Intel processors clear the low
// word, which is what we do. ---

const bswap32: Handler = (cpu, s) => {
  const r = cpu.d.reg[s];
  const v = cpu.reg32[r];
  cpu.reg32[r] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
};
const bswap16: Handler = (cpu, s) => {
  cpu.reg16[cpu.d.reg[s] << 1] = 0;
};

// --- XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (so with one register for both, the sum wins) ---

const xadd8: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG8(cpu, s);
  if (r !== RM_MEM) {
    const i = R8[r];
    const dest = cpu.reg8[i];
    const sum = alu(cpu, AluOp.Add, dest, src, 24);
    setG8(cpu, s, dest);
    cpu.reg8[i] = sum;
    return;
  }
  const lin = cpu.ea(s, 1, true);
  const dest = cpu.rmw8(lin);
  const sum = alu(cpu, AluOp.Add, dest, src, 24);
  cpu.write8(lin, sum);
  setG8(cpu, s, dest);
};

const xadd32: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG32(cpu, s);
  if (r !== RM_MEM) {
    const dest = cpu.reg32[r];
    const sum = alu(cpu, AluOp.Add, dest, src, 0);
    setG32(cpu, s, dest);
    cpu.reg32[r] = sum;
    return;
  }
  const lin = cpu.ea(s, 4, true);
  const dest = cpu.rmw32(lin);
  const sum = alu(cpu, AluOp.Add, dest, src, 0);
  cpu.write32(lin, sum);
  setG32(cpu, s, dest);
};

const xadd16: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG16(cpu, s);
  if (r !== RM_MEM) {
    const dest = cpu.reg16[r << 1];
    const sum = alu(cpu, AluOp.Add, dest, src, 16);
    setG16(cpu, s, dest);
    cpu.reg16[r << 1] = sum;
    return;
  }
  const lin = cpu.ea(s, 2, true);
  const dest = cpu.rmw16(lin);
  const sum = alu(cpu, AluOp.Add, dest, src, 16);
  cpu.write16(lin, sum);
  setG16(cpu, s, dest);
};

// --- CMPXCHG: flags as CMP accumulator, DEST; equal: DEST = SRC; else accumulator = DEST. A memory
// destination is always written, with its own value when unequal (SDM Vol. 2 "CMPXCHG"). ---

const cmpxchg8: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG8(cpu, s);
  if (r !== RM_MEM) {
    const i = R8[r];
    const dest = cpu.reg8[i];
    if (alu(cpu, AluOp.Cmp, cpu.reg8[0], dest, 24) === 0) cpu.reg8[i] = src;
    else cpu.reg8[0] = dest;
    return;
  }
  const lin = cpu.ea(s, 1, true);
  const dest = cpu.rmw8(lin);
  if (alu(cpu, AluOp.Cmp, cpu.reg8[0], dest, 24) === 0) {
    cpu.write8(lin, src);
  } else {
    cpu.write8(lin, dest);
    cpu.reg8[0] = dest;
  }
};

const cmpxchg32: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG32(cpu, s);
  if (r !== RM_MEM) {
    const dest = cpu.reg32[r];
    if (alu(cpu, AluOp.Cmp, cpu.reg32[Reg.EAX], dest, 0) === 0) cpu.reg32[r] = src;
    else cpu.reg32[Reg.EAX] = dest;
    return;
  }
  const lin = cpu.ea(s, 4, true);
  const dest = cpu.rmw32(lin);
  if (alu(cpu, AluOp.Cmp, cpu.reg32[Reg.EAX], dest, 0) === 0) {
    cpu.write32(lin, src);
  } else {
    cpu.write32(lin, dest);
    cpu.reg32[Reg.EAX] = dest;
  }
};

const cmpxchg16: Handler = (cpu, s) => {
  const r = cpu.d.rm[s];
  const src = getG16(cpu, s);
  if (r !== RM_MEM) {
    const dest = cpu.reg16[r << 1];
    if (alu(cpu, AluOp.Cmp, cpu.reg16[0], dest, 16) === 0) cpu.reg16[r << 1] = src;
    else cpu.reg16[0] = dest;
    return;
  }
  const lin = cpu.ea(s, 2, true);
  const dest = cpu.rmw16(lin);
  if (alu(cpu, AluOp.Cmp, cpu.reg16[0], dest, 16) === 0) {
    cpu.write16(lin, src);
  } else {
    cpu.write16(lin, dest);
    cpu.reg16[0] = dest;
  }
};

/** CMPXCHG8B m64: EDX:EAX against m64; only ZF changes; m64 is written either way. */
const cmpxchg8b: Handler = (cpu, s) => {
  const lin = cpu.ea(s, 8, true);
  const linHi = (lin + 4) | 0;
  const lo = cpu.rmw32(lin);
  const hi = cpu.rmw32(linHi);
  const equal = lo === cpu.reg32[Reg.EAX] && hi === cpu.reg32[Reg.EDX];
  if (equal) {
    cpu.write32(lin, cpu.reg32[Reg.EBX]);
    cpu.write32(linHi, cpu.reg32[Reg.ECX]);
  } else {
    cpu.write32(lin, lo);
    cpu.write32(linHi, hi);
    cpu.reg32[Reg.EAX] = lo;
    cpu.reg32[Reg.EDX] = hi;
  }
  setZF(cpu, equal);
};

export function registerBits(t: TableBuilder): void {
  const gv32 = [btGv32, btsGv32, btrGv32, btcGv32];
  const gv16 = [btGv16, btsGv16, btrGv16, btcGv16];
  const ib32 = [btIb32, btsIb32, btrIb32, btcIb32];
  const ib16 = [btIb16, btsIb16, btrIb16, btcIb16];
  for (let k = 0; k < 4; k++) {
    const mnem = BIT_NAMES[k];
    const lock = k !== BitOp.Test;
    // 0F A3 BT, 0F AB BTS, 0F B3 BTR, 0F BB BTC: Ev, Gv.
    t.op(0x1a3 + (k << 3), { mnem, modrm: true, imm: Imm.None, h32: gv32[k], h16: gv16[k], lock });
    // 0F BA /4../7: Ev, Ib (/0../3 stay #UD).
    t.groupEntry(0x1ba, 4 + k, { mnem, modrm: true, imm: Imm.B, h32: ib32[k], h16: ib16[k], lock });
  }
  t.op(0x1bc, { mnem: 'bsf', modrm: true, imm: Imm.None, h32: bsf32, h16: bsf16, noF3: true });
  t.op(0x1bd, { mnem: 'bsr', modrm: true, imm: Imm.None, h32: bsr32, h16: bsr16, noF3: true });
  for (let r = 0; r < 8; r++) t.op(0x1c8 + r, { mnem: 'bswap', modrm: false, imm: Imm.None, h32: bswap32, h16: bswap16 });
  t.op(0x1c0, { mnem: 'xadd', modrm: true, imm: Imm.None, h32: xadd8, lock: true });
  t.op(0x1c1, { mnem: 'xadd', modrm: true, imm: Imm.None, h32: xadd32, h16: xadd16, lock: true });
  t.op(0x1b0, { mnem: 'cmpxchg', modrm: true, imm: Imm.None, h32: cmpxchg8, lock: true });
  t.op(0x1b1, { mnem: 'cmpxchg', modrm: true, imm: Imm.None, h32: cmpxchg32, h16: cmpxchg16, lock: true });
  t.groupEntry(0x1c7, 1, { mnem: 'cmpxchg8b', modrm: true, imm: Imm.None, h32: cmpxchg8b, form: ModForm.MemOnly, lock: true });
}
