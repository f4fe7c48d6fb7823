// System and flag instructions: CLC/STC/CMC/CLD/STD/CLI/STI, HLT, CPUID, RDTSC, RDMSR/WRMSR, MOV CRn/DRn,
// LGDT/LIDT/SGDT/SIDT, SMSW/LMSW, SLDT/STR/LLDT/LTR, INVLPG, WBINVD/INVD, CLTS, UD2, IN/OUT.

import type { Cpu } from '../cpu.js';
import { Reg } from '../registers.js';
import { Imm, ModForm, RM_MEM, type Handler } from '../decoder.js';
import { Flag } from '../flags.js';
import { Vector } from '../interrupts.js';
import { CR4_PSE } from '../paging.js';
import { loadLdt, loadTaskRegister } from '../segments.js';
import type { TableBuilder } from '../table-builder.js';
import { getE16, setE16 } from './operands.js';
import { cpuid } from '../cpuid.js';
import { CACHE_FLUSH_CYCLES, RDTSC_CYCLES, SERIALIZING_CYCLES } from '../costs.js';
import { CrAccess, DtInstr, IoFlags } from '../vmx-hooks.js';

/** Basic exit reasons of the instructions handled here (SDM Vol. 3 appendix C; vmx/controls.ts names them all). */
const EXIT_CPUID = 10;
const EXIT_HLT = 12;
const EXIT_INVD = 13;
const EXIT_RDTSC = 16;
const EXIT_WBINVD = 54;

/** Privileged instructions: #GP(0) unless CPL = 0 (SDM Vol. 3 5.9). */
function privileged(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
}

/** IOPL-sensitive (CLI/STI, IN/OUT): CPL <= IOPL, else #GP(0); the TSS I/O bitmap is not consulted yet. */
function ioPrivileged(cpu: Cpu): void {
  if (cpu.cpl > ((cpu.flags & Flag.IOPL) >>> 12)) cpu.raise(Vector.GP, 0);
}

const CR0_PE = 1;
const CR0_ET = 1 << 4;
const CR0_WP = 1 << 16;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
const CR0_PG = 1 << 31;
/** CR0 bits that exist: PE MP EM TS ET NE WP AM NW CD PG. */
const CR0_DEFINED = 0xe005003f | 0;

/**
 * Whether MOV to CR0 of `v` raises #GP (SDM Vol. 3 2.5, Vol. 2 MOV CR): reserved bits, PG without PE, NW without
 * CD, and PE = 0 (real mode is not implemented, README). A hypervisor emulating the write asks the same.
 */
export function cr0WriteFaults(v: number): boolean {
  if ((v & ~CR0_DEFINED) !== 0) return true;
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) return true;
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) return true;
  return (v & CR0_PE) === 0;
}

/** MOV to CR0: #GP as cr0WriteFaults says, or for a VMX fixed bit. */
export function writeCr0(cpu: Cpu, v: number): void {
  if (cr0WriteFaults(v)) cpu.raise(Vector.GP, 0);
  // In VMX operation the fixed-1 bits (PE, NE, PG; NE only in an unrestricted guest) stay set (SDM Vol. 3 23.8).
  if ((v & cpu.cr0Fixed0) !== cpu.cr0Fixed0) cpu.raise(Vector.GP, 0);
  v |= CR0_ET; // hardwired to 1
  const changed = cpu.cr0 ^ v;
  cpu.cr0 = v | 0;
  if ((changed & (CR0_PG | CR0_WP | CR0_PE)) !== 0) cpu.flushTlb();
  cpu.breakLoop();
}

/** MOV to CR4: the bits this CPU has are cpu.cr4Supported (PSE, and VMXE with VMX); others #GP. */
export function writeCr4(cpu: Cpu, v: number): void {
  if ((v & ~cpu.cr4Supported) !== 0) cpu.raise(Vector.GP, 0);
  // In VMX operation the fixed-1 bits (CR4.VMXE) cannot be cleared (SDM Vol. 3 23.8).
  if ((v & cpu.cr4Fixed0) !== cpu.cr4Fixed0) cpu.raise(Vector.GP, 0);
  const changed = cpu.cr4 ^ v;
  cpu.cr4 = v | 0;
  if ((changed & CR4_PSE) !== 0) cpu.flushTlb();
}

export function writeCr3(cpu: Cpu, v: number): void {
  cpu.cr3 = v | 0;
  cpu.flushTlb();
}

function readCr(cpu: Cpu, n: number): number {
  switch (n) {
    case 0:
      return cpu.cr0;
    case 2:
      return cpu.cr2;
    case 3:
      return cpu.cr3;
    case 4:
      return cpu.cr4;
    default:
      return cpu.raise(Vector.UD);
  }
}

/** MOV r32, CRn / MOV CRn, r32: the r/m field is always a register (mod is ignored, SDM Vol. 2). */
const movRdCr: Handler = (cpu, s) => {
  privileged(cpu);
  const n = cpu.d.reg[s];
  let v = readCr(cpu, n);
  if (cpu.nonRoot && n !== 2) v = cpu.vmx!.readCr(s, n, v); // read shadows, CR3-store exiting
  cpu.reg32[cpu.d.rm[s]] = v;
};
const movCrRd: Handler = (cpu, s) => {
  privileged(cpu);
  let v = cpu.reg32[cpu.d.rm[s]];
  const n = cpu.d.reg[s];
  if (cpu.nonRoot && n !== 2) v = cpu.vmx!.writeCr(s, n, CrAccess.MovTo, v); // masks, CR3-load exiting
  switch (n) {
    case 0:
      writeCr0(cpu, v);
      break;
    case 2:
      cpu.cr2 = v;
      break;
    case 3:
      writeCr3(cpu, v);
      break;
    case 4:
      writeCr4(cpu, v);
      break;
    default:
      cpu.raise(Vector.UD);
  }
};

/** Debug registers: stored; breakpoints are not implemented (CPUID DE=0), DR4/DR5 alias DR6/DR7. */
const dr = new Int32Array(4);
const movRdDr: Handler = (cpu, s) => {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.movDr(s, false);
  const n = cpu.d.reg[s];
  cpu.reg32[cpu.d.rm[s]] = n < 4 ? dr[n] : (n & 1) === 0 ? cpu.dr6 : cpu.dr7;
};
const movDrRd: Handler = (cpu, s) => {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.movDr(s, true);
  const n = cpu.d.reg[s];
  const v = cpu.reg32[cpu.d.rm[s]];
  if (n < 4) dr[n] = v;
  else if ((n & 1) === 0) cpu.dr6 = (v & 0xe00f) | 0xffff0ff0;
  else cpu.dr7 = (v & 0xffff2bff) | 0x400;
};

/** LGDT/LIDT m16&32 (a 16-bit operand size keeps 24 bits of base). */
function loadTable(cpu: Cpu, s: number, idt: boolean): void {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, idt ? DtInstr.Lidt : DtInstr.Lgdt);
  const lin = cpu.ea(s, 6, false);
  const limit = cpu.read16(lin);
  let base = cpu.read32((lin + 2) | 0);
  if ((cpu.d.pfx[s] & 8) !== 0) base &= 0xffffff;
  if (idt) {
    cpu.idtBase = base;
    cpu.idtLimit = limit;
  } else {
    cpu.gdtBase = base;
    cpu.gdtLimit = limit;
  }
}

function storeTable(cpu: Cpu, s: number, idt: boolean): void {
  if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, idt ? DtInstr.Sidt : DtInstr.Sgdt);
  const lin = cpu.ea(s, 6, true);
  cpu.write16(lin, idt ? cpu.idtLimit : cpu.gdtLimit);
  cpu.write32((lin + 2) | 0, idt ? cpu.idtBase : cpu.gdtBase);
}

const hlt: Handler = (cpu, s) => {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.simple(EXIT_HLT, s);
  cpu.halted = true;
  cpu.breakLoop();
};

const cli: Handler = (cpu) => {
  ioPrivileged(cpu);
  cpu.flags &= ~Flag.IF;
};
/** STI: interrupts stay blocked until after the next instruction when IF was 0 (SDM Vol. 2 STI). */
const sti: Handler = (cpu) => {
  ioPrivileged(cpu);
  if ((cpu.flags & Flag.IF) === 0) {
    cpu.flags |= Flag.IF;
    cpu.shadow = 1;
    cpu.breakLoop();
  }
};

function setCf(cpu: Cpu, cf: number): void {
  const f = cpu.getFlags();
  cpu.flags = (f & ~Flag.CF) | cf;
}

const rdtsc: Handler = (cpu, s) => {
  if (cpu.nonRoot) cpu.vmx!.simple(EXIT_RDTSC, s);
  const t = cpu.tsc();
  cpu.reg32[Reg.EAX] = t % 0x1_0000_0000 | 0;
  cpu.reg32[Reg.EDX] = Math.floor(t / 0x1_0000_0000) | 0;
};

const rdmsr: Handler = (cpu, s) => {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.msr(s, false);
  cpu.msr.read(cpu.reg32[Reg.ECX]);
  cpu.reg32[Reg.EAX] = cpu.msr.lo;
  cpu.reg32[Reg.EDX] = cpu.msr.hi;
};
const wrmsr: Handler = (cpu, s) => {
  privileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.msr(s, true);
  cpu.msr.write(cpu.reg32[Reg.ECX], cpu.reg32[Reg.EAX], cpu.reg32[Reg.EDX]);
};

const cpuidH: Handler = (cpu, s) => {
  if (cpu.nonRoot) cpu.vmx!.simple(EXIT_CPUID, s); // unconditional (SDM Vol. 3 25.1.2)
  const out = cpuid(cpu.reg32[Reg.EAX], cpu.reg32[Reg.ECX], cpu.features);
  cpu.reg32[Reg.EAX] = out[0];
  cpu.reg32[Reg.EBX] = out[1];
  cpu.reg32[Reg.ECX] = out[2];
  cpu.reg32[Reg.EDX] = out[3];
};

// --- Port I/O ---
const inALIb: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 1, IoFlags.In | IoFlags.Immediate);
  cpu.reg8[0] = cpu.portIn(cpu.d.imm[s] & 0xff, 1);
};
const inEAXIb32: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 4, IoFlags.In | IoFlags.Immediate);
  cpu.reg32[0] = cpu.portIn(cpu.d.imm[s] & 0xff, 4);
};
const inEAXIb16: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 2, IoFlags.In | IoFlags.Immediate);
  cpu.reg16[0] = cpu.portIn(cpu.d.imm[s] & 0xff, 2);
};
const inALDX: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 1, IoFlags.In);
  cpu.reg8[0] = cpu.portIn(cpu.reg16[4], 1);
};
const inEAXDX32: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 4, IoFlags.In);
  cpu.reg32[0] = cpu.portIn(cpu.reg16[4], 4);
};
const inEAXDX16: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 2, IoFlags.In);
  cpu.reg16[0] = cpu.portIn(cpu.reg16[4], 2);
};
const outIbAL: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 1, IoFlags.Immediate);
  cpu.portOut(cpu.d.imm[s] & 0xff, 1, cpu.reg8[0]);
};
const outIbEAX32: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 4, IoFlags.Immediate);
  cpu.portOut(cpu.d.imm[s] & 0xff, 4, cpu.reg32[0]);
};
const outIbEAX16: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.d.imm[s] & 0xff, 2, IoFlags.Immediate);
  cpu.portOut(cpu.d.imm[s] & 0xff, 2, cpu.reg16[0]);
};
const outDXAL: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 1, 0);
  cpu.portOut(cpu.reg16[4], 1, cpu.reg8[0]);
};
const outDXEAX32: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 4, 0);
  cpu.portOut(cpu.reg16[4], 4, cpu.reg32[0]);
};
const outDXEAX16: Handler = (cpu, s) => {
  ioPrivileged(cpu);
  if (cpu.nonRoot) cpu.vmx!.io(s, cpu.reg16[4], 2, 0);
  cpu.portOut(cpu.reg16[4], 2, cpu.reg16[0]);
};

export function registerSystem(t: TableBuilder): void {
  const simple = (opcode: number, mnem: string, h32: Handler, cycles?: number): void =>
    t.op(opcode, { mnem, modrm: false, imm: Imm.None, h32, cycles });
  simple(0xf8, 'clc', (cpu) => setCf(cpu, 0));
  simple(0xf9, 'stc', (cpu) => setCf(cpu, 1));
  simple(0xf5, 'cmc', (cpu) => setCf(cpu, cpu.getCF() ^ 1));
  simple(0xfc, 'cld', (cpu) => void (cpu.flags &= ~Flag.DF));
  simple(0xfd, 'std', (cpu) => void (cpu.flags |= Flag.DF));
  simple(0xfa, 'cli', cli);
  simple(0xfb, 'sti', sti);
  simple(0xf4, 'hlt', hlt);
  simple(0x1a2, 'cpuid', cpuidH, SERIALIZING_CYCLES);
  simple(0x131, 'rdtsc', rdtsc, RDTSC_CYCLES);
  simple(0x132, 'rdmsr', rdmsr, SERIALIZING_CYCLES);
  simple(0x130, 'wrmsr', wrmsr, SERIALIZING_CYCLES);
  simple(0x10b, 'ud2', (cpu) => cpu.raise(Vector.UD));
  const wbinvd: Handler = (cpu, s) => {
    privileged(cpu);
    if (cpu.nonRoot) cpu.vmx!.simple(EXIT_WBINVD, s);
  };
  const invd: Handler = (cpu, s) => {
    privileged(cpu);
    if (cpu.nonRoot) cpu.vmx!.simple(EXIT_INVD, s); // unconditional
  };
  t.op(0x109, { mnem: 'wbinvd', modrm: false, imm: Imm.None, h32: wbinvd, cycles: CACHE_FLUSH_CYCLES, noF3: true }); // F3 0F 09 is WBNOINVD
  simple(0x108, 'invd', invd, CACHE_FLUSH_CYCLES);
  simple(0x106, 'clts', (cpu, s) => {
    privileged(cpu);
    // In a VMX guest CLTS follows CR0's guest/host mask: exit, leave TS alone, or clear it (SDM Vol. 3 25.1.3).
    const v = cpu.cr0 & ~8;
    cpu.cr0 = cpu.nonRoot ? cpu.vmx!.writeCr(s, 0, CrAccess.Clts, v) : v;
  });
  // MOV to/from control and debug registers: ModRM with the register form regardless of mod.
  // CR1 and CR5-CR7 do not exist: #UD at decode, before the privilege check (SDM Vol. 3 table 6-2).
  const crRead = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movRdCr, form: ModForm.RegAlways };
  const crWrite = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movCrRd, form: ModForm.RegAlways };
  t.group(0x120, Imm.None, [crRead, null, crRead, crRead, crRead, null, null, null]);
  t.group(0x122, Imm.None, [crWrite, null, crWrite, crWrite, crWrite, null, null, null]);
  const drRead = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movRdDr, form: ModForm.RegAlways };
  const drWrite = { mnem: 'mov', modrm: true, imm: Imm.None, h32: movDrRd, form: ModForm.RegAlways };
  t.group(0x121, Imm.None, [drRead, drRead, drRead, drRead, drRead, drRead, drRead, drRead]);
  t.group(0x123, Imm.None, [drWrite, drWrite, drWrite, drWrite, drWrite, drWrite, drWrite, drWrite]);
  // Group 7 (0F 01) memory forms.
  const mem = (mnem: string, h32: Handler): { mnem: string; modrm: true; imm: Imm; h32: Handler; form: ModForm } => ({
    mnem,
    modrm: true,
    imm: Imm.None,
    h32,
    form: ModForm.MemOnly,
  });
  t.groupEntry(0x101, 0, mem('sgdt', (cpu, s) => storeTable(cpu, s, false)));
  t.groupEntry(0x101, 1, mem('sidt', (cpu, s) => storeTable(cpu, s, true)));
  t.groupEntry(0x101, 2, mem('lgdt', (cpu, s) => loadTable(cpu, s, false)));
  t.groupEntry(0x101, 3, mem('lidt', (cpu, s) => loadTable(cpu, s, true)));
  t.groupEntry(0x101, 4, {
    mnem: 'smsw',
    modrm: true,
    imm: Imm.None,
    // SMSW reads CR0 through the VMX read shadow and never exits (SDM Vol. 3 25.3).
    h32: (cpu, s) => {
      const cr0 = cpu.nonRoot ? cpu.vmx!.readCr(-1, 0, cpu.cr0) : cpu.cr0;
      if (cpu.d.rm[s] !== RM_MEM) cpu.reg32[cpu.d.rm[s]] = cr0;
      else setE16(cpu, s, cr0 & 0xffff);
    },
    h16: (cpu, s) => setE16(cpu, s, (cpu.nonRoot ? cpu.vmx!.readCr(-1, 0, cpu.cr0) : cpu.cr0) & 0xffff),
  });
  t.groupEntry(0x101, 6, {
    mnem: 'lmsw',
    modrm: true,
    imm: Imm.None,
    // LMSW changes PE (set only), MP, EM, TS.
    h32: (cpu, s) => {
      privileged(cpu);
      const v = getE16(cpu, s);
      let cr0 = (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & 1);
      if (cpu.nonRoot) cr0 = cpu.vmx!.writeCr(s, 0, CrAccess.Lmsw, v & 0xffff);
      writeCr0(cpu, cr0);
    },
  });
  t.groupEntry(0x101, 7, mem('invlpg', (cpu, s) => {
    privileged(cpu);
    const lin = cpu.ea(s, 1, false);
    if (cpu.nonRoot) cpu.vmx!.invlpg(s, lin);
    cpu.flushTlbPage(lin);
  }));
  // Group 6 (0F 00): SLDT, STR, LLDT, LTR.
  t.groupEntry(0x100, 0, {
    mnem: 'sldt',
    modrm: true,
    imm: Imm.None,
    h32: (cpu, s) => {
      if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, DtInstr.Sldt);
      if (cpu.d.rm[s] !== RM_MEM) cpu.reg32[cpu.d.rm[s]] = cpu.ldtSel;
      else setE16(cpu, s, cpu.ldtSel);
    },
  });
  t.groupEntry(0x100, 1, {
    mnem: 'str',
    modrm: true,
    imm: Imm.None,
    h32: (cpu, s) => {
      if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, DtInstr.Str);
      if (cpu.d.rm[s] !== RM_MEM) cpu.reg32[cpu.d.rm[s]] = cpu.trSel;
      else setE16(cpu, s, cpu.trSel);
    },
  });
  t.groupEntry(0x100, 2, {
    mnem: 'lldt',
    modrm: true,
    imm: Imm.None,
    h32: (cpu, s) => {
      privileged(cpu);
      if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, DtInstr.Lldt);
      loadLdt(cpu, getE16(cpu, s));
    },
  });
  t.groupEntry(0x100, 3, {
    mnem: 'ltr',
    modrm: true,
    imm: Imm.None,
    h32: (cpu, s) => {
      privileged(cpu);
      if (cpu.nonRoot) cpu.vmx!.descriptorTable(s, DtInstr.Ltr);
      loadTaskRegister(cpu, getE16(cpu, s));
    },
  });
  t.op(0xe4, { mnem: 'in', modrm: false, imm: Imm.B, h32: inALIb });
  t.op(0xe5, { mnem: 'in', modrm: false, imm: Imm.B, h32: inEAXIb32, h16: inEAXIb16 });
  t.op(0xec, { mnem: 'in', modrm: false, imm: Imm.None, h32: inALDX });
  t.op(0xed, { mnem: 'in', modrm: false, imm: Imm.None, h32: inEAXDX32, h16: inEAXDX16 });
  t.op(0xe6, { mnem: 'out', modrm: false, imm: Imm.B, h32: outIbAL });
  t.op(0xe7, { mnem: 'out', modrm: false, imm: Imm.B, h32: outIbEAX32, h16: outIbEAX16 });
  t.op(0xee, { mnem: 'out', modrm: false, imm: Imm.None, h32: outDXAL });
  t.op(0xef, { mnem: 'out', modrm: false, imm: Imm.None, h32: outDXEAX32, h16: outDXEAX16 });
}

