// Register dumps in QEMU's `info registers` layout (ecosystem.md 1.1), for -d cpu, triple faults and
// the debugger. Reads state only.

import type { CpuState as Cpu } from './cpu-state.js';
import { hex8, hex4 } from './registers.js';
import { Flag } from './flags.js';

const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];

export function formatRegisters(cpu: Cpu): string {
  const r = cpu.reg32;
  const f = cpu.getFlags();
  const flagStr =
    ((f & Flag.DF) !== 0 ? 'D' : '-') +
    ((f & Flag.OF) !== 0 ? 'O' : '-') +
    ((f & Flag.SF) !== 0 ? 'S' : '-') +
    ((f & Flag.ZF) !== 0 ? 'Z' : '-') +
    ((f & Flag.AF) !== 0 ? 'A' : '-') +
    ((f & Flag.PF) !== 0 ? 'P' : '-') +
    ((f & Flag.CF) !== 0 ? 'C' : '-');
  const lines = [
    `EAX=${hex8(r[0])} EBX=${hex8(r[3])} ECX=${hex8(r[1])} EDX=${hex8(r[2])}`,
    `ESI=${hex8(r[6])} EDI=${hex8(r[7])} EBP=${hex8(r[5])} ESP=${hex8(r[4])}`,
    `EIP=${hex8(cpu.eip)} EFL=${hex8(f)} [${flagStr}] CPL=${cpu.cpl} II=${cpu.shadow !== 0 ? 1 : 0} A20=1 SMM=0 HLT=${cpu.halted ? 1 : 0}`,
  ];
  for (let s = 0; s < 6; s++) {
    const ar = cpu.segAr[s];
    const flags = ((ar & 0xf0ff) << 8) >>> 0;
    lines.push(`${SEG_NAMES[s]} =${hex4(cpu.segSel[s])} ${hex8(cpu.segBase[s])} ${hex8(cpu.segLimit[s])} ${hex8(flags)}`);
  }
  lines.push(`LDT=${hex4(cpu.ldtSel)} ${hex8(cpu.ldtBase)} ${hex8(cpu.ldtLimit)} 00008200`);
  lines.push(`TR =${hex4(cpu.trSel)} ${hex8(cpu.trBase)} ${hex8(cpu.trLimit)} ${hex8((cpu.trAr & 0xf0ff) << 8)}`);
  lines.push(`GDT=     ${hex8(cpu.gdtBase)} ${hex8(cpu.gdtLimit)}`);
  lines.push(`IDT=     ${hex8(cpu.idtBase)} ${hex8(cpu.idtLimit)}`);
  lines.push(`CR0=${hex8(cpu.cr0)} CR2=${hex8(cpu.cr2)} CR3=${hex8(cpu.cr3)} CR4=${hex8(cpu.cr4)}`);
  lines.push(`DR6=${hex8(cpu.dr6)} DR7=${hex8(cpu.dr7)}`);
  return lines.join('\n');
}
