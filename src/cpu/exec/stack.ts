// Stack instructions: PUSH/POP (registers, memory, immediates, segment registers), PUSHAD/POPAD,
// PUSHFD/POPFD, ENTER, LEAVE. The stack primitives (push32/pop32 through SS) are cpu.ts'.

import type { Cpu } from '../cpu.js';
import { Reg } from '../registers.js';
import { Imm, RM_MEM, Seg, type Handler } from '../decoder.js';
import { Flag, WRITABLE_FLAGS } from '../flags.js';
import { loadDataSegment } from '../segments.js';
import type { TableBuilder } from '../table-builder.js';
import { getE16, getE32 } from './operands.js';

const pushEv32: Handler = (cpu, s) => cpu.push32(getE32(cpu, s));
const pushEv16: Handler = (cpu, s) => cpu.push16(getE16(cpu, s));

/** POP r/m: ESP is incremented before the destination address is computed (SDM Vol. 2 POP). */
const popEv32: Handler = (cpu, s) => {
  const esp = cpu.reg32[Reg.ESP];
  const v = cpu.read32(cpu.lin(Seg.SS, esp, 4, false));
  const d = cpu.d;
  if (d.rm[s] !== RM_MEM) {
    cpu.reg32[Reg.ESP] = (esp + 4) | 0;
    cpu.reg32[d.rm[s]] = v;
    return;
  }
  cpu.reg32[Reg.ESP] = (esp + 4) | 0;
  try {
    cpu.write32(cpu.ea(s, 4, true), v);
  } catch (e) {
    cpu.reg32[Reg.ESP] = esp;
    throw e;
  }
};
const popEv16: Handler = (cpu, s) => {
  const esp = cpu.reg32[Reg.ESP];
  const v = cpu.read16(cpu.lin(Seg.SS, esp, 2, false));
  const d = cpu.d;
  cpu.reg32[Reg.ESP] = (esp + 2) | 0;
  if (d.rm[s] !== RM_MEM) {
    cpu.reg16[d.rm[s] << 1] = v;
    return;
  }
  try {
    cpu.write16(cpu.ea(s, 2, true), v);
  } catch (e) {
    cpu.reg32[Reg.ESP] = esp;
    throw e;
  }
};

/** PUSH Sreg with a 32-bit operand size writes the selector zero-extended (recent processors: the low 16 bits only; we write 32). */
function pushSeg(seg: number): { h32: Handler; h16: Handler } {
  return {
    h32: (cpu) => cpu.push32(cpu.segSel[seg]),
    h16: (cpu) => cpu.push16(cpu.segSel[seg]),
  };
}

function popSeg(seg: number): { h32: Handler; h16: Handler } {
  const load = (cpu: Cpu, size: 2 | 4): void => {
    const esp = cpu.reg32[Reg.ESP];
    const sel = cpu.read16(cpu.lin(Seg.SS, esp, 2, false));
    loadDataSegment(cpu, seg, sel);
    cpu.reg32[Reg.ESP] = (esp + size) | 0;
    if (seg === Seg.SS) cpu.shadow = 2;
  };
  return { h32: (cpu) => load(cpu, 4), h16: (cpu) => load(cpu, 2) };
}

const pushad: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const top = (esp - 32) | 0;
  const base = cpu.lin(Seg.SS, top, 32, true);
  for (let r = 0; r < 8; r++) cpu.write32((base + 28 - r * 4) | 0, r === Reg.ESP ? esp : cpu.reg32[r]);
  cpu.reg32[Reg.ESP] = top;
};
const pushaw: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const top = (esp - 16) | 0;
  const base = cpu.lin(Seg.SS, top, 16, true);
  for (let r = 0; r < 8; r++) cpu.write16((base + 14 - r * 2) | 0, r === Reg.ESP ? esp & 0xffff : cpu.reg16[r << 1]);
  cpu.reg32[Reg.ESP] = top;
};
/** Scratch for POPA/POPAD: every value is read before any register changes (a fault leaves them intact). */
const popScratch = new Int32Array(8);

const popad: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const base = cpu.lin(Seg.SS, esp, 32, false);
  const v = popScratch;
  for (let r = 0; r < 8; r++) v[r] = cpu.read32((base + 28 - r * 4) | 0);
  for (let r = 0; r < 8; r++) if (r !== Reg.ESP) cpu.reg32[r] = v[r];
  cpu.reg32[Reg.ESP] = (esp + 32) | 0;
};
const popaw: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const base = cpu.lin(Seg.SS, esp, 16, false);
  const v = popScratch;
  for (let r = 0; r < 8; r++) v[r] = cpu.read16((base + 14 - r * 2) | 0);
  for (let r = 0; r < 8; r++) if (r !== Reg.ESP) cpu.reg16[r << 1] = v[r];
  cpu.reg32[Reg.ESP] = (esp + 16) | 0;
};

/** PUSHFD: VM and RF are pushed as 0 (SDM Vol. 2 PUSHF). */
const pushfd: Handler = (cpu) => cpu.push32(cpu.getFlags() & ~(Flag.VM | Flag.RF));
const pushfw: Handler = (cpu) => cpu.push16(cpu.getFlags() & 0xffff);

/** POPFD at CPL 0: every writable flag, VM and VIF/VIP unchanged (SDM Vol. 2 POPF). */
const popfd: Handler = (cpu) => {
  const v = cpu.pop32();
  const old = cpu.getFlags();
  const mask = cpu.cpl === 0 ? WRITABLE_FLAGS & ~Flag.RF : WRITABLE_FLAGS & ~(Flag.RF | Flag.IOPL | Flag.IF);
  cpu.setFlags((old & ~mask) | (v & mask));
};
const popfw: Handler = (cpu) => {
  const v = cpu.pop16();
  const old = cpu.getFlags();
  const mask = (cpu.cpl === 0 ? WRITABLE_FLAGS : WRITABLE_FLAGS & ~(Flag.IOPL | Flag.IF)) & 0xffff;
  cpu.setFlags((old & ~mask) | (v & mask));
};

const leave32: Handler = (cpu) => {
  const ebp = cpu.reg32[Reg.EBP];
  const v = cpu.read32(cpu.lin(Seg.SS, ebp, 4, false));
  cpu.reg32[Reg.ESP] = (ebp + 4) | 0;
  cpu.reg32[Reg.EBP] = v;
};
const leave16: Handler = (cpu) => {
  const ebp = cpu.reg32[Reg.EBP];
  const v = cpu.read16(cpu.lin(Seg.SS, ebp, 2, false));
  cpu.reg32[Reg.ESP] = (ebp + 2) | 0;
  cpu.reg16[Reg.EBP << 1] = v;
};

function pushSized(cpu: Cpu, size: 2 | 4, v: number): void {
  if (size === 4) cpu.push32(v);
  else cpu.push16(v);
}

/** ENTER imm16, imm8 with a 32-bit stack (SDM Vol. 2 ENTER): nesting level taken modulo 32. */
function enter(cpu: Cpu, s: number, size: 2 | 4): void {
  const frameSize = cpu.d.imm[s] & 0xffff;
  const level = cpu.d.imm2[s] & 31;
  const esp0 = cpu.reg32[Reg.ESP];
  const ebp0 = cpu.reg32[Reg.EBP];
  try {
    pushSized(cpu, size, ebp0);
    const frame = cpu.reg32[Reg.ESP];
    if (level > 0) {
      let ebp = ebp0;
      for (let i = 1; i < level; i++) {
        ebp = (ebp - size) | 0;
        const lin = cpu.lin(Seg.SS, ebp, size, false);
        pushSized(cpu, size, size === 4 ? cpu.read32(lin) : cpu.read16(lin));
      }
      pushSized(cpu, size, frame);
    }
    const esp = (cpu.reg32[Reg.ESP] - frameSize) | 0;
    cpu.lin(Seg.SS, esp, 1, true);
    if (size === 4) cpu.reg32[Reg.EBP] = frame;
    else cpu.reg16[Reg.EBP << 1] = frame;
    cpu.reg32[Reg.ESP] = esp;
  } catch (e) {
    cpu.reg32[Reg.ESP] = esp0;
    cpu.reg32[Reg.EBP] = ebp0;
    throw e;
  }
}

export function registerStack(t: TableBuilder): void {
  for (let r = 0; r < 8; r++) {
    t.op(0x50 + r, {
      mnem: 'push',
      modrm: false,
      imm: Imm.None,
      h32: (cpu) => cpu.push32(cpu.reg32[r]),
      h16: (cpu) => cpu.push16(cpu.reg16[r << 1]),
    });
    t.op(0x58 + r, {
      mnem: 'pop',
      modrm: false,
      imm: Imm.None,
      h32: (cpu) => {
        const v = cpu.pop32();
        cpu.reg32[r] = v;
      },
      h16: (cpu) => {
        const v = cpu.pop16();
        cpu.reg16[r << 1] = v;
      },
    });
  }
  t.op(0x68, { mnem: 'push', modrm: false, imm: Imm.Z, h32: (cpu, s) => cpu.push32(cpu.d.imm[s]), h16: (cpu, s) => cpu.push16(cpu.d.imm[s]) });
  t.op(0x6a, { mnem: 'push', modrm: false, imm: Imm.B, h32: (cpu, s) => cpu.push32(cpu.d.imm[s]), h16: (cpu, s) => cpu.push16(cpu.d.imm[s]) });
  t.groupEntry(0xff, 6, { mnem: 'push', modrm: true, imm: Imm.None, h32: pushEv32, h16: pushEv16 });
  t.group(0x8f, Imm.None, [{ mnem: 'pop', modrm: true, imm: Imm.None, h32: popEv32, h16: popEv16 }]);
  const segOps: [number, number, number][] = [
    [0x06, 0x07, Seg.ES],
    [0x0e, -1, Seg.CS],
    [0x16, 0x17, Seg.SS],
    [0x1e, 0x1f, Seg.DS],
    [0x1a0, 0x1a1, Seg.FS],
    [0x1a8, 0x1a9, Seg.GS],
  ];
  for (const [push, pop, seg] of segOps) {
    t.op(push, { mnem: 'push', modrm: false, imm: Imm.None, ...pushSeg(seg) });
    if (pop >= 0) t.op(pop, { mnem: 'pop', modrm: false, imm: Imm.None, ...popSeg(seg) });
  }
  t.op(0x60, { mnem: 'pushad', mnem16: 'pusha', modrm: false, imm: Imm.None, h32: pushad, h16: pushaw });
  t.op(0x61, { mnem: 'popad', mnem16: 'popa', modrm: false, imm: Imm.None, h32: popad, h16: popaw });
  t.op(0x9c, { mnem: 'pushfd', mnem16: 'pushf', modrm: false, imm: Imm.None, h32: pushfd, h16: pushfw });
  t.op(0x9d, { mnem: 'popfd', mnem16: 'popf', modrm: false, imm: Imm.None, h32: popfd, h16: popfw });
  t.op(0xc9, { mnem: 'leave', modrm: false, imm: Imm.None, h32: leave32, h16: leave16 });
  t.op(0xc8, { mnem: 'enter', modrm: false, imm: Imm.BW, h32: (cpu, s) => enter(cpu, s, 4), h16: (cpu, s) => enter(cpu, s, 2) });
}

