// The local APIC timer (SDM Vol. 3 11.5.4): one-shot, periodic and TSC-deadline modes, the divide
// configuration, and the current count computed from the scheduler clock. Which vector fires is the APIC's.

import type { Scheduler, Timer } from '../../core/scheduler.js';
import { TimerMode, divisorOf } from './apic-registers.js';

const TWO_32 = 0x1_0000_0000;

/**
 * Time base: the APIC timer counts the scheduler's cycle clock divided by the divide configuration (the bus
 * clock equals the core clock on this machine). Nothing runs per tick: the count is derived from `now` on
 * read, and expiry is one scheduler Timer. A count of `countBase` was loaded at cycle `baseCycle`; the
 * counter reaches 0 at baseCycle + countBase * divisor.
 */
export class ApicTimer {
  /** The initial-count register (838 / 0x380). */
  initialCount = 0;
  /** The divide configuration register (83E / 0x3E0), bits 3,1,0. */
  divideConfig = 0;
  divisor = 2;
  /** The LVT timer mode (bits 18:17) as the APIC last wrote it. */
  mode = TimerMode.OneShot;
  /** IA32_TSC_DEADLINE as a double (exact to 2^53), 0 = disarmed. */
  deadline = 0;
  /** Expiries so far (each one is an attempt to raise the LVT timer interrupt, masked or not). */
  expiries = 0;

  private counting = false;
  private baseCycle = 0;
  private countBase = 0;
  /** The cycle the armed Timer fires at (Timer.deadline is -1 again inside the callback). */
  private expiryCycle = 0;
  private readonly timer: Timer;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly tsc: () => number,
    private readonly fire: () => void,
  ) {
    this.timer = scheduler.createTimer('lapic-timer', () => this.onExpiry());
  }

  /** Power-up state (SDM Vol. 3 11.4.7.1): counts 0, divide by 2, one-shot, disarmed. */
  reset(): void {
    this.timer.cancel();
    this.counting = false;
    this.initialCount = 0;
    this.divideConfig = 0;
    this.divisor = 2;
    this.mode = TimerMode.OneShot;
    this.deadline = 0;
  }

  get armed(): boolean {
    return this.timer.armed;
  }

  /** The cycle the timer fires at, or -1. */
  get nextExpiry(): number {
    return this.timer.armed ? this.expiryCycle : -1;
  }

  /**
   * An LVT timer write changed the mode. Into or out of TSC-deadline disarms everything and clears the
   * initial count (SDM Vol. 3 11.5.4.1; KVM apic_update_lvtt); one-shot <-> periodic keeps counting and
   * only changes what happens at 0.
   */
  setMode(mode: TimerMode): void {
    if ((mode === TimerMode.TscDeadline) !== (this.mode === TimerMode.TscDeadline)) {
      this.timer.cancel();
      this.counting = false;
      this.initialCount = 0;
      this.deadline = 0;
    }
    this.mode = mode;
  }

  /** Initial count write: loads the counter and starts it; 0 stops it. Ignored in TSC-deadline mode. */
  writeInitial(value: number): void {
    if (this.mode === TimerMode.TscDeadline) return;
    this.initialCount = value >>> 0;
    if (this.initialCount === 0) {
      this.timer.cancel();
      this.counting = false;
      return;
    }
    this.load(this.scheduler.now, this.initialCount);
  }

  /** Divide configuration write; a running counter keeps its current count and continues at the new rate. */
  writeDivide(value: number): void {
    const running = this.counting && this.timer.armed;
    const count = running ? this.currentCount() : 0;
    this.divideConfig = value;
    this.divisor = divisorOf(value);
    if (running && count > 0) this.load(this.scheduler.now, count);
  }

  /** The current-count register: 0 when stopped, expired (one-shot) or in TSC-deadline mode. */
  currentCount(): number {
    if (!this.counting || this.mode === TimerMode.TscDeadline) return 0;
    const ticks = Math.floor((this.scheduler.now - this.baseCycle) / this.divisor);
    if (ticks < this.countBase) return this.countBase - ticks;
    // Past the expiry but before the machine ran the scheduler: periodic has reloaded, one-shot sits at 0.
    if (this.mode !== TimerMode.Periodic || this.initialCount === 0) return 0;
    return this.initialCount - ((ticks - this.countBase) % this.initialCount);
  }

  /** IA32_TSC_DEADLINE read: the armed deadline, 0 once fired or outside TSC-deadline mode. */
  readDeadline(): number {
    return this.mode === TimerMode.TscDeadline ? this.deadline : 0;
  }

  /**
   * IA32_TSC_DEADLINE write (SDM Vol. 3 11.5.4.1): non-zero arms, 0 disarms; ignored outside TSC-deadline mode.
   * A deadline already passed fires at once.
   */
  writeDeadline(lo: number, hi: number): void {
    if (this.mode !== TimerMode.TscDeadline) return;
    const value = (hi >>> 0) * TWO_32 + (lo >>> 0);
    this.timer.cancel();
    this.deadline = value;
    if (value === 0) return;
    const delta = value - this.tsc();
    if (delta <= 0) {
      this.onExpiry();
      return;
    }
    this.expiryCycle = this.scheduler.now + delta;
    this.timer.armAt(this.expiryCycle);
  }

  private load(cycle: number, count: number): void {
    this.counting = true;
    this.baseCycle = cycle;
    this.countBase = count;
    this.expiryCycle = cycle + count * this.divisor;
    this.timer.armAt(this.expiryCycle);
  }

  private onExpiry(): void {
    this.expiries++;
    if (this.mode === TimerMode.TscDeadline) {
      this.deadline = 0;
    } else if (this.mode === TimerMode.Periodic && this.initialCount !== 0) {
      // Reload from the expiry cycle, not from `now`, so a late scheduler run does not drift the period.
      this.load(this.expiryCycle, this.initialCount);
    } else {
      this.counting = false;
    }
    this.fire();
  }
}
