// Tests of the machine wiring and the run loop, with a scripted fake CPU: stops, timers through PIT and PIC,
// HLT skipping to the next deadline, serial capture, logging.

import { describe, expect, it } from 'vitest';
import type { LogItem, Logger } from '../../src/core/tracer.js';
import { Machine } from '../../src/machine/machine.js';
import { runImage } from '../../src/machine/run.js';
import { type FakeStep, FakeCpu, serialSteps } from '../helpers/fake-cpu.js';
import { aoutImage } from '../helpers/images.js';

function run(script: FakeStep[], options: Parameters<typeof runImage>[1] = {}, handler: FakeStep[] = []) {
  const fake = FakeCpu.factory(script, handler);
  const result = runImage(aoutImage(), { ...options, machine: { cpuFactory: fake.factory } });
  return { result, cpu: fake.cpu() };
}

function recordingLogger(items: LogItem[]): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, enabled: (i) => items.includes(i), log: (i, line) => lines.push(`${i}: ${line}`) };
}

/** The guest side of programming the PIC (vectors 0x20/0x28) and the PIT at ~1 kHz in mode 2. */
const TIMER_SETUP: FakeStep[] = [
  { out: 0x20, value: 0x11 },
  { out: 0x21, value: 0x20 },
  { out: 0x21, value: 0x04 },
  { out: 0x21, value: 0x01 },
  { out: 0xa0, value: 0x11 },
  { out: 0xa1, value: 0x28 },
  { out: 0xa1, value: 0x02 },
  { out: 0xa1, value: 0x01 },
  { out: 0x21, value: 0xfe },
  { out: 0xa1, value: 0xff },
  { out: 0x43, value: 0x34 },
  { out: 0x40, value: 1193 & 0xff },
  { out: 0x40, value: 1193 >> 8 },
];
const EOI: FakeStep = { out: 0x20, value: 0x20 };

describe('runImage', () => {
  it('enters the kernel at its entry point with the MBI address', () => {
    const { cpu } = run([]);
    expect(cpu.entry).toBe(0x100020);
    expect(cpu.mbi).toBe(0x9000);
  });

  it('stops on isa-debug-exit with the QEMU status and keeps the serial output', () => {
    const streamed: number[] = [];
    const { result } = run([...serialSteps('hello\n'), { out: 0xf4, value: 1 }, ...serialSteps('never')], {
      serial: (b) => streamed.push(b),
    });
    expect(result.stop).toBe('debug-exit');
    expect(result.exitValue).toBe(1);
    expect(result.exitStatus).toBe(3);
    expect(result.serial).toBe('hello\n');
    expect(String.fromCharCode(...streamed)).toBe('hello\n');
    expect(result.instructions).toBe(7);
    expect(result.cycles).toBe(7);
  });

  it('reports a dead halt (cli; hlt) as halted', () => {
    const { result } = run([{ cli: true }, { hlt: true }]);
    expect(result.stop).toBe('halted');
    expect(result.exitStatus).toBeNull();
  });

  it('stops at max cycles', () => {
    const { result } = run([{ spin: 1e12 }], { maxCycles: 5000 });
    expect(result.stop).toBe('max-cycles');
    expect(result.cycles).toBe(5000);
  });

  it('stops on a triple fault and logs cpu_reset with the registers', () => {
    const logger = recordingLogger(['cpu_reset']);
    const { result } = run([{ tripleFault: true }], { logger });
    expect(result.stop).toBe('shutdown');
    expect(logger.lines.join('\n')).toMatch(/cpu_reset: Triple fault: CPU Reset \(CPU 0\) \(QEMU would reset.*\n.*EIP=/);
  });

  it('takes PIT interrupts through the PIC while halted, skipping time to each deadline', () => {
    const { result, cpu } = run(
      [...TIMER_SETUP, { sti: true }, { hlt: true }, { hlt: true }, { hlt: true }, { out: 0xf4, value: 0 }],
      {},
      [EOI],
    );
    expect(result.stop).toBe('debug-exit');
    expect(result.exitStatus).toBe(1);
    expect(cpu.taken.map((t) => t.vector)).toEqual([0x20, 0x20, 0x20]);
    // One period of 1193 PIT clocks is 999,847 ns; the halts waited for three of them.
    const periodCycles = Math.ceil((1193 * 1e9) / 1_193_182);
    expect(cpu.taken[2].cycle - cpu.taken[1].cycle).toBeGreaterThanOrEqual(periodCycles - 1);
    expect(cpu.taken[2].cycle - cpu.taken[1].cycle).toBeLessThanOrEqual(periodCycles + 1);
    expect(result.instructions).toBeLessThan(50);
  });

  it('halts for good when the timer runs but IF is clear', () => {
    const { result } = run([...TIMER_SETUP, { cli: true }, { hlt: true }], { maxCycles: 1e9 });
    expect(result.stop).toBe('halted');
  });

  it('is deterministic: the same script gives the same cycles and vectors', () => {
    const a = run([...TIMER_SETUP, { sti: true }, { spin: 5_000_000 }, { out: 0xf4, value: 0 }], {}, [EOI]);
    const b = run([...TIMER_SETUP, { sti: true }, { spin: 5_000_000 }, { out: 0xf4, value: 0 }], {}, [EOI]);
    expect(a.cpu.taken).toEqual(b.cpu.taken);
    expect(a.cpu.taken.length).toBe(5);
    expect(a.result.cycles).toBe(b.result.cycles);
  });

  it('delivers COM1 interrupts on IRQ 4 when IER and OUT2 allow', () => {
    const unmaskCom1: FakeStep[] = [...TIMER_SETUP.slice(0, 8), { out: 0x21, value: 0xef }, { out: 0xa1, value: 0xff }];
    const { cpu } = run([...unmaskCom1, { out: 0x3fc, value: 0x08 }, { out: 0x3f9, value: 0x02 }, { sti: true }, { out: 0xf4, value: 0 }], {}, [
      { in: 0x3fa },
      EOI,
    ]);
    expect(cpu.taken.map((t) => t.vector)).toEqual([0x24]);
    expect(cpu.inputs).toEqual([0x02]);
  });

  it('collects the Bochs shutdown string and logs unassigned ports as guest errors', () => {
    const logger = recordingLogger(['guest_errors', 'unimp']);
    const { result, cpu } = run([{ in: 0x64 }, ...[...'Shutdown'].map((c) => ({ out: 0x8900, value: c.charCodeAt(0) }))], { logger });
    expect(cpu.inputs).toEqual([0xff]);
    expect(result.bochsShutdown).toBe('Shutdown');
    expect(logger.lines).toContain('guest_errors: unassigned port read at 0x64 (size 1)');
    expect(logger.lines.some((l) => l.startsWith('unimp: Bochs shutdown port 0x8900 written: "Shutdown"'))).toBe(true);
  });

  it('answers debugcon reads with 0xE9 and streams its bytes', () => {
    const out: number[] = [];
    const { cpu } = run([{ in: 0xe9 }, { out: 0xe9, value: 0x41 }], { debugcon: (b) => out.push(b) });
    expect(cpu.inputs).toEqual([0xe9]);
    expect(out).toEqual([0x41]);
  });

  it('returns a load error without running', () => {
    const fake = FakeCpu.factory([]);
    const result = runImage(new Uint8Array(0), { machine: { cpuFactory: fake.factory } });
    expect(result).toMatchObject({ stop: 'load-error', error: 'image is 0 bytes', exitStatus: null, cycles: 0 });
  });

  it('passes the memory size to RAM and the MBI', () => {
    const fake = FakeCpu.factory([]);
    const machine = new Machine({ memoryBytes: 64 << 20, cpuFactory: fake.factory });
    expect(machine.memory.ramBytes).toBe(64 << 20);
    const loaded = machine.loadMultiboot(aoutImage());
    expect(loaded.ok && machine.memory.view.getUint32(loaded.mbiAddress + 8, true)).toBe(63 * 1024);
  });
});
