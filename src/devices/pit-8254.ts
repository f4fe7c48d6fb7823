// The 8254 PIT (ports 0x40-0x43): three counters, access modes, latch and read-back, modes 0-5 on a
// 1,193,182 Hz input clock derived from the scheduler's cycles. Channel 0 drives IRQ0 through an IrqLine.

import type { IrqLine } from '../core/irq.js';
import type { Scheduler, Timer } from '../core/scheduler.js';
import { BytePortDevice } from './byte-port-device.js';

/** The PIT input clock (Hz): 14.31818 MHz / 12. */
export const PIT_HZ = 1_193_182;

/** Read/write access states (8254 data sheet, control word bits 5:4). */
const enum Access {
  Latch = 0,
  Lsb = 1,
  Msb = 2,
  Word0 = 3, // both bytes, low byte next
  Word1 = 4, // both bytes, high byte next
}

class PitChannel {
  /** The loaded count (1..0x10000; 0 written means 0x10000). */
  count = 0x10000;
  /** Scheduler cycle at which `count` was loaded. */
  loadCycle = 0;
  mode = 3; // QEMU's reset mode (square wave); the counter is idle until the guest loads a count

  bcd = 0;
  rwMode = Access.Lsb;
  readState = Access.Lsb;
  writeState = Access.Lsb;
  writeLatch = 0;
  latchedCount = 0;
  countLatched = Access.Latch; // Latch = no latched count; otherwise which bytes remain
  status = 0;
  statusLatched = false;
  /** True once a count has been written since the last control word (a counter does nothing before). */
  loaded = false;
}

/**
 * Counters count PIT clocks elapsed since their count was loaded; no per-tick work is done. Channel 0's
 * OUT is pushed to IRQ0 at each transition by one Timer (QEMU's i8254 model), so the PIC sees a rising edge
 * per period in modes 2 and 3 and one at terminal count in mode 0. BCD counting is not modelled (binary).
 * Gates are tied high (channel 2's gate on port 0x61 is not modelled). Unlike QEMU (whose firmware-less
 * reset starts channel 0 at 18.2 Hz), counters stay idle until the guest writes a count, so a machine whose
 * guest never programs the PIT has no timer armed.
 */
export class Pit8254 extends BytePortDevice {
  readonly name = 'pit-8254';
  readonly length = 4;
  private readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()];
  private readonly timer: Timer;
  private readonly cyclesPerSecond: number;
  /** OUT of channel 0 as last pushed to IRQ0: high, as an idle mode-3 counter's OUT is, so no edge at boot. */
  private irqLevel = true;
  /** Channel 0 output transitions delivered, counted for statistics. */
  transitions = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly irq0: IrqLine | null,
  ) {
    super();
    this.cyclesPerSecond = scheduler.frequencyHz;
    this.timer = scheduler.createTimer('pit0', (now) => this.onTimer(now));
  }

  /** PIT clocks elapsed between two scheduler cycles, exactly (floor), for cycle counts up to 2^53. */
  private ticksBetween(fromCycle: number, toCycle: number): number {
    const elapsed = Math.max(0, toCycle - fromCycle);
    const f = this.cyclesPerSecond;
    const whole = Math.floor(elapsed / f);
    const rest = elapsed - whole * f;
    return whole * PIT_HZ + Math.floor((rest * PIT_HZ) / f);
  }

  /** The first scheduler cycle at which `ticks` PIT clocks have elapsed since `fromCycle`. */
  private cycleAfterTicks(fromCycle: number, ticks: number): number {
    const whole = Math.floor(ticks / PIT_HZ);
    const rest = ticks - whole * PIT_HZ;
    return fromCycle + whole * this.cyclesPerSecond + Math.ceil((rest * this.cyclesPerSecond) / PIT_HZ);
  }

  /** The current counter value (8254 data sheet, per mode; QEMU's pit_get_count). */
  private currentCount(c: PitChannel, now: number): number {
    if (!c.loaded) return c.count & 0xffff;
    const d = this.ticksBetween(c.loadCycle, now);
    switch (c.mode) {
      case 2:
        return (c.count - (d % c.count)) & 0xffff;
      case 3:
        return (c.count - ((2 * d) % c.count)) & 0xffff;
      default: // 0, 1, 4, 5: count down and wrap
        return (c.count - d) & 0xffff;
    }
  }

  /** The OUT pin (QEMU's pit_get_out; mode 2 gives a pulse at each reload so the PIC sees an edge). */
  private output(c: PitChannel, now: number): boolean {
    if (!c.loaded) return c.mode !== 0;
    const d = this.ticksBetween(c.loadCycle, now);
    switch (c.mode) {
      case 0:
        return d >= c.count;
      case 1:
        return d < c.count;
      case 2:
        return d !== 0 && d % c.count === 0;
      case 3:
        return d % c.count < (c.count + 1) >>> 1;
      default: // 4, 5: a strobe at terminal count
        return d === c.count;
    }
  }

  /** The next cycle after `now` at which OUT changes, or -1 (QEMU's pit_get_next_transition_time). */
  private nextTransition(c: PitChannel, now: number): number {
    if (!c.loaded) return -1;
    const d = this.ticksBetween(c.loadCycle, now);
    let next: number;
    switch (c.mode) {
      case 0:
      case 1:
        if (d >= c.count) return -1;
        next = c.count;
        break;
      case 2: {
        const base = d - (d % c.count);
        next = d - base === 0 && d !== 0 ? base + 1 : base + c.count;
        break;
      }
      case 3: {
        const base = d - (d % c.count);
        const half = (c.count + 1) >>> 1;
        next = d - base < half ? base + half : base + c.count;
        break;
      }
      default:
        if (d < c.count) next = c.count;
        else if (d === c.count) next = c.count + 1;
        else return -1;
        break;
    }
    const cycle = this.cycleAfterTicks(c.loadCycle, next);
    return cycle <= now ? now + 1 : cycle;
  }

  private updateIrq(now: number): void {
    const c = this.channels[0];
    const level = this.output(c, now);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.transitions++;
      this.irq0?.set(level);
    }
    const next = this.nextTransition(c, now);
    if (next < 0) this.timer.cancel();
    else this.timer.armAt(next);
  }

  private onTimer(now: number): void {
    this.updateIrq(now);
  }

  private loadCount(index: number, value: number): void {
    const c = this.channels[index];
    c.count = value === 0 ? 0x10000 : value;
    c.loadCycle = this.scheduler.now;
    c.loaded = true;
    if (index === 0) this.updateIrq(this.scheduler.now);
  }

  protected writeByte(offset: number, value: number): void {
    if (offset === 3) {
      this.control(value);
      return;
    }
    const c = this.channels[offset];
    switch (c.writeState) {
      case Access.Msb:
        this.loadCount(offset, value << 8);
        break;
      case Access.Word0:
        c.writeLatch = value;
        c.writeState = Access.Word1;
        break;
      case Access.Word1:
        c.writeState = Access.Word0;
        this.loadCount(offset, c.writeLatch | (value << 8));
        break;
      default:
        this.loadCount(offset, value);
        break;
    }
  }

  private control(value: number): void {
    const select = value >>> 6;
    if (select === 3) {
      // Read-back command: bit 5 clear = latch count, bit 4 clear = latch status, bits 3:1 select counters.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const c = this.channels[i];
        if ((value & 0x20) === 0) this.latchCount(c);
        if ((value & 0x10) === 0 && !c.statusLatched) {
          const out = this.output(c, this.scheduler.now) ? 0x80 : 0;
          const nullCount = c.loaded ? 0 : 0x40;
          c.status = out | nullCount | (c.rwMode << 4) | (c.mode << 1) | c.bcd;
          c.statusLatched = true;
        }
      }
      return;
    }
    const c = this.channels[select];
    const access = (value >>> 4) & 3;
    if (access === Access.Latch) {
      this.latchCount(c);
      return;
    }
    let mode = (value >>> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    c.mode = mode;
    c.bcd = value & 1;
    c.rwMode = access;
    c.readState = access;
    c.writeState = access;
    c.loaded = false; // a new control word stops the counter until a count is written
    c.countLatched = Access.Latch;
    c.statusLatched = false;
    if (select === 0) this.updateIrq(this.scheduler.now);
  }

  private latchCount(c: PitChannel): void {
    if (c.countLatched !== Access.Latch) return; // a second latch before the read is ignored
    c.latchedCount = this.currentCount(c, this.scheduler.now);
    c.countLatched = c.rwMode;
  }

  protected readByte(offset: number): number {
    if (offset === 3) return 0xff; // the control register is write-only
    const c = this.channels[offset];
    if (c.statusLatched) {
      c.statusLatched = false;
      return c.status;
    }
    if (c.countLatched !== Access.Latch) {
      const v = this.latchedByte(c, c.countLatched);
      c.countLatched = c.countLatched === Access.Word0 ? Access.Msb : Access.Latch;
      return v;
    }
    const v = this.liveByte(c, c.readState);
    if (c.readState === Access.Word0) c.readState = Access.Word1;
    else if (c.readState === Access.Word1) c.readState = Access.Word0;
    return v;
  }

  protected peekByte(offset: number): number {
    if (offset === 3) return 0xff;
    const c = this.channels[offset];
    if (c.statusLatched) return c.status;
    if (c.countLatched !== Access.Latch) return this.latchedByte(c, c.countLatched);
    return this.liveByte(c, c.readState);
  }

  private latchedByte(c: PitChannel, state: Access): number {
    return state === Access.Msb ? (c.latchedCount >>> 8) & 0xff : c.latchedCount & 0xff;
  }

  private liveByte(c: PitChannel, state: Access): number {
    const count = this.currentCount(c, this.scheduler.now);
    return state === Access.Msb || state === Access.Word1 ? (count >>> 8) & 0xff : count & 0xff;
  }

  /** Channel state for debuggers and tests: the current count and OUT, without side effects. */
  inspect(index: number): { count: number; mode: number; out: boolean; reload: number } {
    const c = this.channels[index];
    const now = this.scheduler.now;
    return { count: this.currentCount(c, now), mode: c.mode, out: this.output(c, now), reload: c.count };
  }
}
