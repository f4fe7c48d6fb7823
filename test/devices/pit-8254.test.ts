// Unit tests of the 8254: counting from the scheduler clock, access modes, latch/read-back, IRQ0 edges by timer.

import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/core/scheduler.js';
import { PIT_HZ, Pit8254 } from '../../src/devices/pit-8254.js';
import { RecordingIrq } from '../helpers/recording-irq.js';

const GHZ = 1_000_000_000;

function make(): { pit: Pit8254; s: Scheduler; irq: RecordingIrq } {
  const s = new Scheduler(GHZ);
  const irq = new RecordingIrq();
  return { pit: new Pit8254(s, irq), s, irq };
}

/** Cycles (1 GHz) that `ticks` PIT clocks take, rounded up. */
const cyclesFor = (ticks: number): number => Math.ceil((ticks * GHZ) / PIT_HZ);

/** Advances simulated time to `cycle`, firing due timers on the way, as the machine's run loop does. */
function runTo(s: Scheduler, cycle: number): void {
  while (s.nextDeadline() <= cycle) {
    s.now = s.nextDeadline();
    s.runDue();
  }
  s.now = cycle;
}

describe('8254 PIT', () => {
  it('arms nothing until the guest loads a count', () => {
    const { s } = make();
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('raises one IRQ0 edge per period in mode 2 (rate generator)', () => {
    const { pit, s, irq } = make();
    pit.write(3, 1, 0x34); // channel 0, lobyte/hibyte, mode 2
    pit.write(0, 1, 1193 & 0xff);
    pit.write(0, 1, 1193 >> 8); // ~1 kHz
    expect(s.nextDeadline()).toBe(cyclesFor(1193));
    runTo(s, 10_000_000); // 10 ms
    expect(irq.rises).toBe(10);
  });

  it('raises IRQ0 edges in mode 3 (square wave) at the programmed rate', () => {
    const { pit, s, irq } = make();
    pit.write(3, 1, 0x36);
    pit.write(0, 1, 0x00);
    pit.write(0, 1, 0x00); // 0 = 65536: 18.2 Hz
    runTo(s, GHZ); // one second
    expect(irq.rises).toBe(18);
  });

  it('counts down in mode 0 and raises OUT once at terminal count', () => {
    const { pit, s, irq } = make();
    pit.write(3, 1, 0x30); // mode 0, lobyte/hibyte
    expect(irq.level).toBe(false);
    pit.write(0, 1, 100);
    pit.write(0, 1, 0);
    runTo(s, cyclesFor(40));
    pit.write(3, 1, 0x00); // latch channel 0
    expect(pit.read(0, 1) | (pit.read(0, 1) << 8)).toBe(60);
    runTo(s, cyclesFor(100));
    expect(irq.level).toBe(true);
    expect(irq.rises).toBe(1);
    runTo(s, cyclesFor(100_000));
    expect(irq.rises).toBe(1);
    expect(s.nextDeadline()).toBe(Infinity);
  });

  it('reads the live count in lobyte-only and word modes', () => {
    const { pit, s } = make();
    pit.write(3, 1, 0x94); // channel 2, lobyte only, mode 2
    pit.write(2, 1, 200);
    runTo(s, cyclesFor(50));
    expect(pit.read(2, 1)).toBe(150);
    pit.write(3, 1, 0x74); // channel 1, word, mode 2
    pit.write(1, 1, 0x10);
    pit.write(1, 1, 0x27); // 10000
    runTo(s, s.now + cyclesFor(1000));
    const lo = pit.read(1, 1);
    const hi = pit.read(1, 1);
    expect(lo | (hi << 8)).toBe(9000);
  });

  it('holds a latched count until both bytes are read and ignores a second latch', () => {
    const { pit, s } = make();
    pit.write(3, 1, 0x34);
    pit.write(0, 1, 0x00);
    pit.write(0, 1, 0x10); // 4096
    runTo(s, cyclesFor(96));
    pit.write(3, 1, 0x00);
    runTo(s, cyclesFor(500));
    pit.write(3, 1, 0x00); // ignored: a latch is pending
    expect(pit.read(0, 1) | (pit.read(0, 1) << 8)).toBe(4000);
  });

  it('returns status through the read-back command', () => {
    const { pit } = make();
    pit.write(3, 1, 0x36); // channel 0, word, mode 3
    pit.write(3, 1, 0xe2); // read-back status of channel 0
    expect(pit.read(0, 1)).toBe(0x80 | 0x40 | 0x36); // OUT high, null count, rw=3, mode 3
  });

  it('counts correctly far into a long run (exact tick arithmetic)', () => {
    const { pit, s } = make();
    pit.write(3, 1, 0x34);
    pit.write(0, 1, 0x9c);
    pit.write(0, 1, 0x2e); // 11932
    const hours = 3600 * GHZ * 5; // five simulated hours of cycles
    s.now = hours;
    const ticks = 5 * 3600 * PIT_HZ;
    expect(pit.inspect(0).count).toBe(11932 - (ticks % 11932));
  });

  it('derives the tick rate from the scheduler frequency', () => {
    const s = new Scheduler(2 * GHZ);
    const pit = new Pit8254(s, null);
    pit.write(3, 1, 0x34);
    pit.write(0, 1, 0xff);
    pit.write(0, 1, 0xff);
    s.now = 2 * GHZ; // one second at 2 GHz
    expect(pit.inspect(0).count).toBe(0xffff - (PIT_HZ % 0xffff));
  });
});
