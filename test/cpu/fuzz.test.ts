// test/cpu/fuzz.test.ts: random instruction streams (ecosystem.md 5.2 item 23). Whatever the bytes, the
// host never throws and never hangs: the guest gets exceptions, a triple fault or a halt.
// Leaves what each instruction computes to the oracle tests.

import { describe, expect, it } from 'vitest';
import { PortBus } from '../../src/core/bus.js';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import { Rng } from '../../src/core/rng.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { Cpu } from '../../src/cpu/cpu.js';

/** A machine whose IDT sends every exception back into the random code (so faults keep it running). */
function machine(seed: number, translate: boolean): { cpu: Cpu; memory: PhysicalMemory } {
  const rng = new Rng(seed);
  const memory = new PhysicalMemory(2 << 20);
  const cpu = new Cpu({ memory, ports: new PortBus(), scheduler: new Scheduler(), translate });
  // Random code at 1 MiB, a flat GDT at 0x1000, an IDT at 0x2000 whose gates all point at 1 MiB + k.
  const code = new Uint8Array(4096);
  for (let i = 0; i < code.length; i++) code[i] = rng.u32() & 0xff;
  memory.writeBytes(0x100000, code);
  const gdt = new Uint8Array(24);
  gdt.set([0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0], 8);
  gdt.set([0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0], 16);
  memory.writeBytes(0x1000, gdt);
  const idt = new DataView(new ArrayBuffer(256 * 8));
  for (let v = 0; v < 256; v++) {
    const target = 0x100000 + (rng.u32() & 0xfff);
    idt.setUint32(v * 8, (0x08 << 16) | (target & 0xffff), true);
    idt.setUint32(v * 8 + 4, (target & 0xffff0000) | 0x8e00, true);
  }
  memory.writeBytes(0x2000, new Uint8Array(idt.buffer));
  cpu.enterMultibootState(0x100000, 0);
  cpu.gdtBase = 0x1000;
  cpu.gdtLimit = 23;
  cpu.idtBase = 0x2000;
  cpu.idtLimit = 256 * 8 - 1;
  cpu.reg32[4] = 0x80000; // a stack in RAM
  return { cpu, memory };
}

describe('random instruction streams', () => {
  it('never throw or hang the host (200 seeds, 20,000 cycles each, with and without translation)', () => {
    let shutdowns = 0;
    for (let seed = 1; seed <= 200; seed++) {
      for (const translate of [true, false]) {
        const { cpu } = machine(seed, translate);
        for (let slice = 0; slice < 20 && !cpu.shutdown && !cpu.halted; slice++) {
          expect(() => cpu.run(cpu.scheduler.now + 1000)).not.toThrow();
        }
        if (cpu.shutdown) shutdowns++;
      }
    }
    // Some streams triple-fault (stack in random places, bad selectors): that is the architectural result.
    expect(shutdowns).toBeGreaterThanOrEqual(0);
  });

  it('give the same result with and without translation', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const a = machine(seed, true).cpu;
      const b = machine(seed, false).cpu;
      for (let slice = 0; slice < 20; slice++) {
        a.run(a.scheduler.now + 1000);
        b.run(b.scheduler.now + 1000);
      }
      expect([a.eip, a.instructions, a.shutdown, a.halted, ...a.reg32], `seed ${seed}`).toEqual([b.eip, b.instructions, b.shutdown, b.halted, ...b.reg32]);
    }
  });
});
