// Operand access for decoded instructions: the ModRM r/m operand (register or memory) and the reg
// operand, by size. Every handler in exec/ goes through these; they hold no state of their own.

import type { Cpu } from '../cpu.js';
import { R8 } from '../registers.js';
import { RM_MEM } from '../decoder.js';

export function getE32(cpu: Cpu, s: number): number {
  const r = cpu.d.rm[s];
  return r !== RM_MEM ? cpu.reg32[r] : cpu.read32(cpu.ea(s, 4, false));
}

export function getE16(cpu: Cpu, s: number): number {
  const r = cpu.d.rm[s];
  return r !== RM_MEM ? cpu.reg16[r << 1] : cpu.read16(cpu.ea(s, 2, false));
}

export function getE8(cpu: Cpu, s: number): number {
  const r = cpu.d.rm[s];
  return r !== RM_MEM ? cpu.reg8[R8[r]] : cpu.read8(cpu.ea(s, 1, false));
}

export function setE32(cpu: Cpu, s: number, v: number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) cpu.reg32[r] = v;
  else cpu.write32(cpu.ea(s, 4, true), v);
}

export function setE16(cpu: Cpu, s: number, v: number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) cpu.reg16[r << 1] = v;
  else cpu.write16(cpu.ea(s, 2, true), v);
}

export function setE8(cpu: Cpu, s: number, v: number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) cpu.reg8[R8[r]] = v;
  else cpu.write8(cpu.ea(s, 1, true), v);
}

export function getG32(cpu: Cpu, s: number): number {
  return cpu.reg32[cpu.d.reg[s]];
}

export function getG16(cpu: Cpu, s: number): number {
  return cpu.reg16[cpu.d.reg[s] << 1];
}

export function getG8(cpu: Cpu, s: number): number {
  return cpu.reg8[R8[cpu.d.reg[s]]];
}

export function setG32(cpu: Cpu, s: number, v: number): void {
  cpu.reg32[cpu.d.reg[s]] = v;
}

export function setG16(cpu: Cpu, s: number, v: number): void {
  cpu.reg16[cpu.d.reg[s] << 1] = v;
}

export function setG8(cpu: Cpu, s: number, v: number): void {
  cpu.reg8[R8[cpu.d.reg[s]]] = v;
}

/**
 * Read-modify-write of the r/m operand: `op(old)` gives the new value. The memory form checks write
 * access before reading, so a fault leaves flags and memory as they were.
 */
export function rmwE32(cpu: Cpu, s: number, op: (cpu: Cpu, a: number, s: number) => number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    cpu.reg32[r] = op(cpu, cpu.reg32[r], s);
  } else {
    const lin = cpu.ea(s, 4, true);
    cpu.write32(lin, op(cpu, cpu.rmw32(lin), s));
  }
}

export function rmwE16(cpu: Cpu, s: number, op: (cpu: Cpu, a: number, s: number) => number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    cpu.reg16[r << 1] = op(cpu, cpu.reg16[r << 1], s);
  } else {
    const lin = cpu.ea(s, 2, true);
    cpu.write16(lin, op(cpu, cpu.rmw16(lin), s));
  }
}

export function rmwE8(cpu: Cpu, s: number, op: (cpu: Cpu, a: number, s: number) => number): void {
  const r = cpu.d.rm[s];
  if (r !== RM_MEM) {
    const i = R8[r];
    cpu.reg8[i] = op(cpu, cpu.reg8[i], s);
  } else {
    const lin = cpu.ea(s, 1, true);
    cpu.write8(lin, op(cpu, cpu.rmw8(lin), s));
  }
}
