// Specialised 32-bit forms of the hottest ALU operations (ADD OR AND SUB XOR CMP): one function literal
// per operation and form, so V8 optimises each with its own feedback. alu.ts keeps the general forms.

import type { Cpu } from '../cpu.js';
import { RM_MEM, type Handler } from '../decoder.js';
import { LazyOp, recordLazy } from '../flags.js';


function add32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Add, a, b, (a + b) | 0);
}

function or32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Logic, a, b, a | b);
}

function and32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Logic, a, b, a & b);
}

function sub32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Sub, a, b, (a - b) | 0);
}

function xor32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Logic, a, b, a ^ b);
}

function cmp32(cpu: Cpu, a: number, b: number): number {
  return recordLazy(cpu.lz, LazyOp.Sub, a, b, (a - b) | 0);
}

/** Per operation: r/m32, r32 (01-39 odd), r32, r/m32 (03-3B), r/m32, imm (81/83), EAX, imm32. */
export const FAST32: Record<number, { EvGv: Handler; GvEv: Handler; EvI: Handler; EAXIz: Handler }> = {
  [0]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = add32(cpu, cpu.reg32[r], cpu.reg32[d.reg[s]]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, add32(cpu, cpu.rmw32(lin), cpu.reg32[d.reg[s]]));
      }
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      const g = d.reg[s];
      cpu.reg32[g] = add32(cpu, cpu.reg32[g], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = add32(cpu, cpu.reg32[r], d.imm[s]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, add32(cpu, cpu.rmw32(lin), d.imm[s]));
      }
    },
    EAXIz: (cpu, s) => {
      cpu.reg32[0] = add32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
  [1]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = or32(cpu, cpu.reg32[r], cpu.reg32[d.reg[s]]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, or32(cpu, cpu.rmw32(lin), cpu.reg32[d.reg[s]]));
      }
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      const g = d.reg[s];
      cpu.reg32[g] = or32(cpu, cpu.reg32[g], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = or32(cpu, cpu.reg32[r], d.imm[s]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, or32(cpu, cpu.rmw32(lin), d.imm[s]));
      }
    },
    EAXIz: (cpu, s) => {
      cpu.reg32[0] = or32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
  [4]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = and32(cpu, cpu.reg32[r], cpu.reg32[d.reg[s]]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, and32(cpu, cpu.rmw32(lin), cpu.reg32[d.reg[s]]));
      }
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      const g = d.reg[s];
      cpu.reg32[g] = and32(cpu, cpu.reg32[g], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = and32(cpu, cpu.reg32[r], d.imm[s]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, and32(cpu, cpu.rmw32(lin), d.imm[s]));
      }
    },
    EAXIz: (cpu, s) => {
      cpu.reg32[0] = and32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
  [5]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = sub32(cpu, cpu.reg32[r], cpu.reg32[d.reg[s]]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, sub32(cpu, cpu.rmw32(lin), cpu.reg32[d.reg[s]]));
      }
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      const g = d.reg[s];
      cpu.reg32[g] = sub32(cpu, cpu.reg32[g], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = sub32(cpu, cpu.reg32[r], d.imm[s]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, sub32(cpu, cpu.rmw32(lin), d.imm[s]));
      }
    },
    EAXIz: (cpu, s) => {
      cpu.reg32[0] = sub32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
  [6]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = xor32(cpu, cpu.reg32[r], cpu.reg32[d.reg[s]]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, xor32(cpu, cpu.rmw32(lin), cpu.reg32[d.reg[s]]));
      }
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      const g = d.reg[s];
      cpu.reg32[g] = xor32(cpu, cpu.reg32[g], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      if (r !== RM_MEM) {
        cpu.reg32[r] = xor32(cpu, cpu.reg32[r], d.imm[s]);
      } else {
        const lin = cpu.ea(s, 4, true);
        cpu.write32(lin, xor32(cpu, cpu.rmw32(lin), d.imm[s]));
      }
    },
    EAXIz: (cpu, s) => {
      cpu.reg32[0] = xor32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
  [7]: {
    EvGv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      cmp32(cpu, r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)), cpu.reg32[d.reg[s]]);
    },
    GvEv: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      cmp32(cpu, cpu.reg32[d.reg[s]], r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)));
    },
    EvI: (cpu, s) => {
      const d = cpu.d;
      const r = d.rm[s];
      cmp32(cpu, r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false)), d.imm[s]);
    },
    EAXIz: (cpu, s) => {
      cmp32(cpu, cpu.reg32[0], cpu.d.imm[s]);
    },
  },
};
