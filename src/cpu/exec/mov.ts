// Data movement: MOV (all forms incl. moffs, Sreg, CRn, DRn), MOVZX, MOVSX, LEA, XCHG, CBW/CWDE/CWD/CDQ,
// LAHF/SAHF, XLAT, NOP/PAUSE. Segment loading itself is segments.ts'; control registers are system.ts'.

import { R8 } from '../registers.js';
import { Imm, ModForm, RM_MEM, Seg, type Handler } from '../decoder.js';
import { Flag } from '../flags.js';
import { loadDataSegment } from '../segments.js';
import type { TableBuilder } from '../table-builder.js';
import { getE16, getE8, getG16, getG32, getG8, setE16, setE32, setE8, setG16, setG32, setG8 } from './operands.js';

const movEbGb: Handler = (cpu, s) => setE8(cpu, s, getG8(cpu, s));
const movEvGv32: Handler = (cpu, s) => {
  const d = cpu.d;
  const r = d.rm[s];
  if (r !== RM_MEM) cpu.reg32[r] = cpu.reg32[d.reg[s]];
  else cpu.write32(cpu.ea(s, 4, true), cpu.reg32[d.reg[s]]);
};
const movEvGv16: Handler = (cpu, s) => setE16(cpu, s, getG16(cpu, s));
const movGbEb: Handler = (cpu, s) => setG8(cpu, s, getE8(cpu, s));
const movGvEv32: Handler = (cpu, s) => {
  const d = cpu.d;
  const r = d.rm[s];
  cpu.reg32[d.reg[s]] = r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false));
};
const movGvEv16: Handler = (cpu, s) => setG16(cpu, s, getE16(cpu, s));

/** MOV r/m16, Sreg: a register destination gets the selector zero-extended under a 32-bit operand size. */
const movEwSw32: Handler = (cpu, s) => {
  const d = cpu.d;
  const v = cpu.segSel[d.reg[s]];
  if (d.rm[s] !== RM_MEM) cpu.reg32[d.rm[s]] = v;
  else cpu.write16(cpu.ea(s, 2, true), v);
};
const movEwSw16: Handler = (cpu, s) => setE16(cpu, s, cpu.segSel[cpu.d.reg[s]]);
const movSwEw: Handler = (cpu, s) => {
  const seg = cpu.d.reg[s];
  loadDataSegment(cpu, seg, getE16(cpu, s));
  if (seg === Seg.SS) cpu.shadow = 2; // MOV SS blocks interrupts and debug traps for one instruction
};

// moffs forms: the address is in disp, the segment DS unless overridden.
const movALOb: Handler = (cpu, s) => void (cpu.reg8[0] = cpu.read8(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 1, false)));
const movEAXOv32: Handler = (cpu, s) => void (cpu.reg32[0] = cpu.read32(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 4, false)));
const movEAXOv16: Handler = (cpu, s) => void (cpu.reg16[0] = cpu.read16(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 2, false)));
const movObAL: Handler = (cpu, s) => cpu.write8(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 1, true), cpu.reg8[0]);
const movOvEAX32: Handler = (cpu, s) => cpu.write32(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 4, true), cpu.reg32[0]);
const movOvEAX16: Handler = (cpu, s) => cpu.write16(cpu.lin(cpu.d.seg[s], cpu.d.disp[s], 2, true), cpu.reg16[0]);

const movEbIb: Handler = (cpu, s) => setE8(cpu, s, cpu.d.imm[s]);
const movEvIz32: Handler = (cpu, s) => setE32(cpu, s, cpu.d.imm[s]);
const movEvIz16: Handler = (cpu, s) => setE16(cpu, s, cpu.d.imm[s]);

const movzxGvEb32: Handler = (cpu, s) => setG32(cpu, s, getE8(cpu, s));
const movzxGvEb16: Handler = (cpu, s) => setG16(cpu, s, getE8(cpu, s));
const movzxGvEw32: Handler = (cpu, s) => setG32(cpu, s, getE16(cpu, s));
const movsxGvEb32: Handler = (cpu, s) => setG32(cpu, s, (getE8(cpu, s) << 24) >> 24);
const movsxGvEb16: Handler = (cpu, s) => setG16(cpu, s, (getE8(cpu, s) << 24) >> 24);
const movsxGvEw32: Handler = (cpu, s) => setG32(cpu, s, (getE16(cpu, s) << 16) >> 16);

const lea32: Handler = (cpu, s) => setG32(cpu, s, cpu.offset(s));
const lea16: Handler = (cpu, s) => setG16(cpu, s, cpu.offset(s));

/** XCHG with memory is always locked; both operands are read before either is written. */
const xchgEbGb: Handler = (cpu, s) => {
  const d = cpu.d;
  const g = getG8(cpu, s);
  if (d.rm[s] !== RM_MEM) {
    const i = R8[d.rm[s]];
    setG8(cpu, s, cpu.reg8[i]);
    cpu.reg8[i] = g;
  } else {
    const lin = cpu.ea(s, 1, true);
    const m = cpu.rmw8(lin);
    cpu.write8(lin, g);
    setG8(cpu, s, m);
  }
};
const xchgEvGv32: Handler = (cpu, s) => {
  const d = cpu.d;
  const g = getG32(cpu, s);
  if (d.rm[s] !== RM_MEM) {
    setG32(cpu, s, cpu.reg32[d.rm[s]]);
    cpu.reg32[d.rm[s]] = g;
  } else {
    const lin = cpu.ea(s, 4, true);
    const m = cpu.rmw32(lin);
    cpu.write32(lin, g);
    setG32(cpu, s, m);
  }
};
const xchgEvGv16: Handler = (cpu, s) => {
  const d = cpu.d;
  const g = getG16(cpu, s);
  if (d.rm[s] !== RM_MEM) {
    setG16(cpu, s, cpu.reg16[d.rm[s] << 1]);
    cpu.reg16[d.rm[s] << 1] = g;
  } else {
    const lin = cpu.ea(s, 2, true);
    const m = cpu.rmw16(lin);
    cpu.write16(lin, g);
    setG16(cpu, s, m);
  }
};

const nop: Handler = () => {};

export function registerMov(t: TableBuilder): void {
  t.op(0x88, { mnem: 'mov', modrm: true, imm: Imm.None, h32: movEbGb });
  t.op(0x89, { mnem: 'mov', modrm: true, imm: Imm.None, h32: movEvGv32, h16: movEvGv16 });
  t.op(0x8a, { mnem: 'mov', modrm: true, imm: Imm.None, h32: movGbEb });
  t.op(0x8b, { mnem: 'mov', modrm: true, imm: Imm.None, h32: movGvEv32, h16: movGvEv16 });
  // 8C/8E: Sreg encodings 6 and 7 do not exist, and MOV CS is invalid (SDM Vol. 2 MOV).
  const sregStore = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movEwSw32, h16: movEwSw16 };
  const sregLoad = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movSwEw };
  t.group(0x8c, Imm.None, [sregStore, sregStore, sregStore, sregStore, sregStore, sregStore, null, null]);
  t.group(0x8e, Imm.None, [sregLoad, null, sregLoad, sregLoad, sregLoad, sregLoad, null, null]);
  t.op(0xa0, { mnem: 'mov', modrm: false, imm: Imm.O, h32: movALOb });
  t.op(0xa1, { mnem: 'mov', modrm: false, imm: Imm.O, h32: movEAXOv32, h16: movEAXOv16 });
  t.op(0xa2, { mnem: 'mov', modrm: false, imm: Imm.O, h32: movObAL });
  t.op(0xa3, { mnem: 'mov', modrm: false, imm: Imm.O, h32: movOvEAX32, h16: movOvEAX16 });
  for (let r = 0; r < 8; r++) {
    const i8 = R8[r];
    t.op(0xb0 + r, { mnem: 'mov', modrm: false, imm: Imm.B, h32: (cpu, s) => void (cpu.reg8[i8] = cpu.d.imm[s]) });
    t.op(0xb8 + r, {
      mnem: 'mov',
      modrm: false,
      imm: Imm.Z,
      h32: (cpu, s) => void (cpu.reg32[r] = cpu.d.imm[s]),
      h16: (cpu, s) => void (cpu.reg16[r << 1] = cpu.d.imm[s]),
    });
  }
  t.group(0xc6, Imm.B, [{ mnem: 'mov', modrm: true, imm: Imm.B, h32: movEbIb }]);
  t.group(0xc7, Imm.Z, [{ mnem: 'mov', modrm: true, imm: Imm.Z, h32: movEvIz32, h16: movEvIz16 }]);
  t.op(0x1b6, { mnem: 'movzx', modrm: true, imm: Imm.None, h32: movzxGvEb32, h16: movzxGvEb16 });
  t.op(0x1b7, { mnem: 'movzx', modrm: true, imm: Imm.None, h32: movzxGvEw32, h16: movGvEv16 });
  t.op(0x1be, { mnem: 'movsx', modrm: true, imm: Imm.None, h32: movsxGvEb32, h16: movsxGvEb16 });
  t.op(0x1bf, { mnem: 'movsx', modrm: true, imm: Imm.None, h32: movsxGvEw32, h16: movGvEv16 });
  t.op(0x8d, { mnem: 'lea', modrm: true, imm: Imm.None, h32: lea32, h16: lea16, form: ModForm.MemOnly });
  t.op(0x86, { mnem: 'xchg', modrm: true, imm: Imm.None, h32: xchgEbGb, lock: true });
  t.op(0x87, { mnem: 'xchg', modrm: true, imm: Imm.None, h32: xchgEvGv32, h16: xchgEvGv16, lock: true });
  for (let r = 1; r < 8; r++) {
    t.op(0x90 + r, {
      mnem: 'xchg',
      modrm: false,
      imm: Imm.None,
      h32: (cpu) => {
        const v = cpu.reg32[r];
        cpu.reg32[r] = cpu.reg32[0];
        cpu.reg32[0] = v;
      },
      h16: (cpu) => {
        const v = cpu.reg16[r << 1];
        cpu.reg16[r << 1] = cpu.reg16[0];
        cpu.reg16[0] = v;
      },
    });
  }
  // 90: NOP; F3 90: PAUSE (decoded by the prefix in the handler-free way: same no-op, its own mnemonic).
  t.op(0x90, { mnem: 'nop', modrm: false, imm: Imm.None, h32: nop });
  t.groupEntry(0x11f, 0, { mnem: 'nop', modrm: true, imm: Imm.None, h32: nop });
  t.op(0x98, {
    mnem: 'cwde',
    mnem16: 'cbw',
    modrm: false,
    imm: Imm.None,
    h32: (cpu) => void (cpu.reg32[0] = (cpu.reg16[0] << 16) >> 16),
    h16: (cpu) => void (cpu.reg16[0] = (cpu.reg8[0] << 24) >> 24),
  });
  t.op(0x99, {
    mnem: 'cdq',
    mnem16: 'cwd',
    modrm: false,
    imm: Imm.None,
    h32: (cpu) => void (cpu.reg32[2] = cpu.reg32[0] >> 31),
    h16: (cpu) => void (cpu.reg16[4] = (cpu.reg16[0] & 0x8000) !== 0 ? 0xffff : 0),
  });
  t.op(0x9f, {
    mnem: 'lahf',
    modrm: false,
    imm: Imm.None,
    h32: (cpu) => void (cpu.reg8[1] = cpu.getFlags() & 0xd7 | 0x02),
  });
  t.op(0x9e, {
    mnem: 'sahf',
    modrm: false,
    imm: Imm.None,
    h32: (cpu) => {
      const f = cpu.getFlags();
      cpu.setArith((f & Flag.OF) | (cpu.reg8[1] & (Flag.SF | Flag.ZF | Flag.AF | Flag.PF | Flag.CF)));
    },
  });
  t.op(0xd7, {
    mnem: 'xlatb',
    modrm: false,
    imm: Imm.None,
    h32: (cpu, s) => void (cpu.reg8[0] = cpu.read8(cpu.lin(cpu.d.seg[s], (cpu.reg32[3] + cpu.reg8[0]) | 0, 1, false))),
  });
}

