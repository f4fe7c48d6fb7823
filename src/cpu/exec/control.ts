// Control transfer: JMP, Jcc, CALL, RET (near and far), LOOP/LOOPE/LOOPNE/JECXZ, INT n/INT3/INTO, IRET,
// SETcc and CMOVcc (they share the condition codes). Descriptor checks are segments.ts'; delivery interrupts.ts'.

import type { Cpu } from '../cpu.js';
import { Reg } from '../registers.js';
import { Imm, ModForm, Seg, type Handler } from '../decoder.js';
import { Flag, WRITABLE_FLAGS } from '../flags.js';
import { EventKind, Vector, deliverEvent } from '../interrupts.js';
import { loadCodeSegment } from '../segments.js';
import type { TableBuilder } from '../table-builder.js';
import { getE16, getE32, setE8, setG16, setG32 } from './operands.js';

export const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** Near target checks: a target beyond the CS limit is #GP(0) (SDM Vol. 2 JMP). */
function jumpNear(cpu: Cpu, target: number): void {
  if (target >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
  cpu.eip = target;
}

const jmpRel32: Handler = (cpu, s) => jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) | 0);
const jmpRel16: Handler = (cpu, s) => jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) & 0xffff);
const jmpEv32: Handler = (cpu, s) => jumpNear(cpu, getE32(cpu, s));
const jmpEv16: Handler = (cpu, s) => jumpNear(cpu, getE16(cpu, s));

const callRel32: Handler = (cpu, s) => {
  const target = (cpu.eip + cpu.d.imm[s]) | 0;
  if (target >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
  cpu.push32(cpu.eip);
  cpu.eip = target;
};
const callRel16: Handler = (cpu, s) => {
  const target = (cpu.eip + cpu.d.imm[s]) & 0xffff;
  if (target > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
  cpu.push16(cpu.eip);
  cpu.eip = target;
};
const callEv32: Handler = (cpu, s) => {
  const target = getE32(cpu, s);
  if (target >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
  cpu.push32(cpu.eip);
  cpu.eip = target;
};
const callEv16: Handler = (cpu, s) => {
  const target = getE16(cpu, s);
  if (target > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
  cpu.push16(cpu.eip);
  cpu.eip = target;
};

const ret32: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const target = cpu.read32(cpu.lin(Seg.SS, esp, 4, false));
  jumpNear(cpu, target);
  cpu.reg32[Reg.ESP] = (esp + 4) | 0;
};
const ret16: Handler = (cpu) => {
  const esp = cpu.reg32[Reg.ESP];
  const target = cpu.read16(cpu.lin(Seg.SS, esp, 2, false));
  jumpNear(cpu, target);
  cpu.reg32[Reg.ESP] = (esp + 2) | 0;
};
const retImm32: Handler = (cpu, s) => {
  const esp = cpu.reg32[Reg.ESP];
  const target = cpu.read32(cpu.lin(Seg.SS, esp, 4, false));
  jumpNear(cpu, target);
  cpu.reg32[Reg.ESP] = (esp + 4 + cpu.d.imm[s]) | 0;
};
const retImm16: Handler = (cpu, s) => {
  const esp = cpu.reg32[Reg.ESP];
  const target = cpu.read16(cpu.lin(Seg.SS, esp, 2, false));
  jumpNear(cpu, target);
  cpu.reg32[Reg.ESP] = (esp + 2 + cpu.d.imm[s]) | 0;
};

// --- Far transfers (same privilege level; SDM Vol. 3 5.8) ---

function farJump(cpu: Cpu, selector: number, offset: number): void {
  loadCodeSegment(cpu, selector, offset, false);
  cpu.eip = offset;
}

/** Pushes CS and EIP (both writes checked before ESP moves), then loads the new CS. */
function farCall(cpu: Cpu, selector: number, offset: number, size: 2 | 4): void {
  const esp = cpu.reg32[Reg.ESP];
  const top = (esp - 2 * size) | 0;
  const base = cpu.lin(Seg.SS, top, 2 * size, true);
  const retEip = cpu.eip;
  const retCs = cpu.segSel[Seg.CS];
  // Load (and check) the target first: a #GP must leave the stack untouched.
  loadCodeSegment(cpu, selector, offset, false);
  if (size === 4) {
    cpu.write32(base, retEip);
    cpu.write32((base + 4) | 0, retCs);
  } else {
    cpu.write16(base, retEip);
    cpu.write16((base + 2) | 0, retCs);
  }
  cpu.reg32[Reg.ESP] = top;
  cpu.eip = offset;
}

function farReturn(cpu: Cpu, size: 2 | 4, release: number): void {
  const esp = cpu.reg32[Reg.ESP];
  const base = cpu.lin(Seg.SS, esp, 2 * size, false);
  const offset = size === 4 ? cpu.read32(base) : cpu.read16(base);
  const selector = size === 4 ? cpu.read32((base + 4) | 0) & 0xffff : cpu.read16((base + 2) | 0);
  loadCodeSegment(cpu, selector, offset, true);
  cpu.eip = offset;
  cpu.reg32[Reg.ESP] = (esp + 2 * size + release) | 0;
}

const jmpFarPtr: Handler = (cpu, s) => farJump(cpu, cpu.d.imm2[s], cpu.d.imm[s]);
const callFarPtr32: Handler = (cpu, s) => farCall(cpu, cpu.d.imm2[s], cpu.d.imm[s], 4);
const callFarPtr16: Handler = (cpu, s) => farCall(cpu, cpu.d.imm2[s], cpu.d.imm[s], 2);
/** Reads an m16:16/32 far pointer: the offset is returned, the selector left in farSelector. */
let farSelector = 0;
function farPointer(cpu: Cpu, s: number, size: 2 | 4): number {
  const lin = cpu.ea(s, size + 2, false);
  const off = size === 4 ? cpu.read32(lin) : cpu.read16(lin);
  farSelector = cpu.read16((lin + size) | 0);
  return off;
}
const jmpFarM32: Handler = (cpu, s) => {
  const off = farPointer(cpu, s, 4);
  farJump(cpu, farSelector, off);
};
const jmpFarM16: Handler = (cpu, s) => {
  const off = farPointer(cpu, s, 2);
  farJump(cpu, farSelector, off);
};
const callFarM32: Handler = (cpu, s) => {
  const off = farPointer(cpu, s, 4);
  farCall(cpu, farSelector, off, 4);
};
const callFarM16: Handler = (cpu, s) => {
  const off = farPointer(cpu, s, 2);
  farCall(cpu, farSelector, off, 2);
};

/**
 * IRET to the same privilege level (SDM Vol. 2 IRET, protected mode): NT=1 (task return) and returns to
 * an outer level are not implemented and raise #GP(0).
 */
function iret(cpu: Cpu, size: 2 | 4): void {
  // IRET ends NMI blocking before anything can fault (SDM Vol. 3 6.7.1: even if the instruction faults).
  if (cpu.nmiBlocked && !cpu.iretKeepsNmiBlocking) {
    cpu.nmiBlocked = false;
    cpu.iretUnblockedNmi = true;
    cpu.breakLoop();
  }
  const old = cpu.getFlags();
  if ((old & Flag.NT) !== 0) cpu.raise(Vector.GP, 0);
  const esp = cpu.reg32[Reg.ESP];
  const base = cpu.lin(Seg.SS, esp, 3 * size, false);
  const eip = size === 4 ? cpu.read32(base) : cpu.read16(base);
  const cs = size === 4 ? cpu.read32((base + 4) | 0) & 0xffff : cpu.read16((base + 2) | 0);
  const fl = size === 4 ? cpu.read32((base + 8) | 0) : cpu.read16((base + 4) | 0) | (old & 0xffff0000);
  if ((cs & 3) !== cpu.cpl) cpu.raise(Vector.GP, cs & 0xfffc); // outer-level return: not yet
  if (size === 4 && (fl & Flag.VM) !== 0) cpu.raise(Vector.GP, 0); // virtual-8086 mode: not implemented
  loadCodeSegment(cpu, cs, eip, true);
  cpu.eip = eip;
  cpu.reg32[Reg.ESP] = (esp + 3 * size) | 0;
  const mask = cpu.cpl === 0 ? WRITABLE_FLAGS : WRITABLE_FLAGS & ~(Flag.IOPL | Flag.IF);
  cpu.setFlags((old & ~mask) | (fl & mask));
  cpu.iretUnblockedNmi = false;
}

// --- LOOP family (address size 32: ECX) ---

function makeLoop(kind: number): Handler {
  return (cpu, s) => {
    const ecx = (cpu.reg32[Reg.ECX] - 1) | 0;
    cpu.reg32[Reg.ECX] = ecx;
    let take = ecx !== 0;
    if (kind === 1) take = take && cpu.getZF();
    else if (kind === 0) take = take && !cpu.getZF();
    if (take) jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) | 0);
  };
}

const jecxz: Handler = (cpu, s) => {
  if (cpu.reg32[Reg.ECX] === 0) jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) | 0);
};

// --- Software interrupts: traps, EIP already past the instruction ---

const intN: Handler = (cpu, s) => deliverEvent(cpu, cpu.d.imm[s] & 0xff, EventKind.Software, false, 0);
const int3: Handler = (cpu) => deliverEvent(cpu, Vector.BP, EventKind.SoftwareException, false, 0);
const into: Handler = (cpu) => {
  if ((cpu.getFlags() & Flag.OF) !== 0) deliverEvent(cpu, Vector.OF, EventKind.SoftwareException, false, 0);
};

export function registerControl(t: TableBuilder): void {
  for (let cc = 0; cc < 16; cc++) {
    const name = CC_NAMES[cc];
    const jcc32: Handler = (cpu, s) => {
      if (cpu.cond(cc)) jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) | 0);
    };
    const jcc16: Handler = (cpu, s) => {
      if (cpu.cond(cc)) jumpNear(cpu, (cpu.eip + cpu.d.imm[s]) & 0xffff);
    };
    t.op(0x70 + cc, { mnem: 'j' + name, modrm: false, imm: Imm.B, h32: jcc32, h16: jcc16 });
    t.op(0x180 + cc, { mnem: 'j' + name, modrm: false, imm: Imm.Z, h32: jcc32, h16: jcc16 });
    t.op(0x190 + cc, {
      mnem: 'set' + name,
      modrm: true,
      imm: Imm.None,
      h32: (cpu, s) => setE8(cpu, s, cpu.cond(cc) ? 1 : 0),
    });
    t.op(0x140 + cc, {
      mnem: 'cmov' + name,
      modrm: true,
      imm: Imm.None,
      // The source is read (and may fault) whether or not the condition holds.
      h32: (cpu, s) => {
        const v = getE32(cpu, s);
        if (cpu.cond(cc)) setG32(cpu, s, v);
      },
      h16: (cpu, s) => {
        const v = getE16(cpu, s);
        if (cpu.cond(cc)) setG16(cpu, s, v);
      },
    });
  }
  t.op(0xeb, { mnem: 'jmp', modrm: false, imm: Imm.B, h32: jmpRel32, h16: jmpRel16 });
  t.op(0xe9, { mnem: 'jmp', modrm: false, imm: Imm.Z, h32: jmpRel32, h16: jmpRel16 });
  t.op(0xe8, { mnem: 'call', modrm: false, imm: Imm.Z, h32: callRel32, h16: callRel16 });
  t.op(0xea, { mnem: 'jmp', modrm: false, imm: Imm.P, h32: jmpFarPtr });
  t.op(0x9a, { mnem: 'call', modrm: false, imm: Imm.P, h32: callFarPtr32, h16: callFarPtr16 });
  t.groupEntry(0xff, 2, { mnem: 'call', modrm: true, imm: Imm.None, h32: callEv32, h16: callEv16 });
  t.groupEntry(0xff, 3, { mnem: 'call', modrm: true, imm: Imm.None, h32: callFarM32, h16: callFarM16, form: ModForm.MemOnly });
  t.groupEntry(0xff, 4, { mnem: 'jmp', modrm: true, imm: Imm.None, h32: jmpEv32, h16: jmpEv16 });
  t.groupEntry(0xff, 5, { mnem: 'jmp', modrm: true, imm: Imm.None, h32: jmpFarM32, h16: jmpFarM16, form: ModForm.MemOnly });
  t.op(0xc3, { mnem: 'ret', modrm: false, imm: Imm.None, h32: ret32, h16: ret16 });
  t.op(0xc2, { mnem: 'ret', modrm: false, imm: Imm.W, h32: retImm32, h16: retImm16 });
  t.op(0xcb, { mnem: 'retf', modrm: false, imm: Imm.None, h32: (cpu) => farReturn(cpu, 4, 0), h16: (cpu) => farReturn(cpu, 2, 0) });
  t.op(0xca, {
    mnem: 'retf',
    modrm: false,
    imm: Imm.W,
    h32: (cpu, s) => farReturn(cpu, 4, cpu.d.imm[s]),
    h16: (cpu, s) => farReturn(cpu, 2, cpu.d.imm[s]),
  });
  t.op(0xcf, { mnem: 'iretd', mnem16: 'iret', modrm: false, imm: Imm.None, h32: (cpu) => iret(cpu, 4), h16: (cpu) => iret(cpu, 2) });
  t.op(0xe2, { mnem: 'loop', modrm: false, imm: Imm.B, h32: makeLoop(2) });
  t.op(0xe1, { mnem: 'loope', modrm: false, imm: Imm.B, h32: makeLoop(1) });
  t.op(0xe0, { mnem: 'loopne', modrm: false, imm: Imm.B, h32: makeLoop(0) });
  t.op(0xe3, { mnem: 'jecxz', modrm: false, imm: Imm.B, h32: jecxz });
  t.op(0xcd, { mnem: 'int', modrm: false, imm: Imm.B, h32: intN });
  t.op(0xcc, { mnem: 'int3', modrm: false, imm: Imm.None, h32: int3 });
  t.op(0xce, { mnem: 'into', modrm: false, imm: Imm.None, h32: into });
}

