// test/vmx/fuzz.test.ts: hostile VMX programming (ecosystem.md 5.2: "a guest attacking the hypervisor"). Random
// controls within and beyond the capability MSRs, random exception bitmaps, CR masks, EPT pointers and MSR-area
// counts, and random guest code in non-root operation: whatever happens, the host never throws or hangs, every
// failure is an architectural result (VMfail, an entry-failure exit, a VM exit), and runs are deterministic.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { VmcsField as F, FIELD_ENCODINGS } from '../../src/vmx/vmcs-fields.js';
import { PIN_CTLS, PROC_CTLS, PROC_CTLS2, EXIT_CTLS } from '../../src/vmx/capabilities.js';
import { GUEST_CODE, VmxBench } from '../helpers/vmx-runner.js';

interface Outcome {
  entries: number;
  failures: number;
  laterFailures: number;
  reasons: number[];
  cycles: number;
}

function fuzz(seed: number): Outcome {
  const rng = new Rng(seed);
  const code = new Uint8Array(2048);
  for (let i = 0; i < code.length; i++) code[i] = rng.u32() & 0xff;
  const b = new VmxBench(code);
  const pick = (allowed0: number, allowed1: number): number => (allowed0 | (rng.u32() & allowed1)) | 0;
  // Controls within the allowed settings, with the SDM's dependencies kept (virtual NMIs need NMI exiting, the
  // NMI window needs virtual NMIs): these runs reach the guest; the hostile ones below mostly do not.
  let pin = pick(PIN_CTLS.allowed0, PIN_CTLS.allowed1);
  if ((pin & (1 << 3)) === 0) pin &= ~(1 << 5);
  let proc = pick(PROC_CTLS.allowed0 & ~(3 << 15), PROC_CTLS.allowed1) | (1 << 31);
  if ((pin & (1 << 5)) === 0) proc &= ~(1 << 22);
  b.write(F.PinControls, pin);
  b.write(F.ProcControls, proc);
  b.write(F.ProcControls2, pick(0, PROC_CTLS2.allowed1) | 0x82); // EPT + unrestricted guest (paging is off)
  let exit = pick(EXIT_CTLS.allowed0, EXIT_CTLS.allowed1);
  if ((pin & (1 << 6)) === 0) exit &= ~(1 << 22); // saving the timer needs the timer
  b.write(F.ExitControls, exit);
  b.write(F.ExceptionBitmap, rng.u32() | 0);
  b.write(F.PreemptionTimerValue, rng.u32() & 0xffff);
  b.write(F.Cr0GuestHostMask, rng.u32() & 0xe005003f);
  b.write(F.Cr0ReadShadow, rng.u32() | 0);
  b.write(F.Cr4GuestHostMask, rng.u32() & 0x2010);
  // Sometimes hostile: a handful of fields get arbitrary values (addresses outside RAM, reserved bits...).
  const hostile = rng.u32() % 3 === 0;
  if (hostile) {
    for (let k = 0; k < 6; k++) {
      const enc = FIELD_ENCODINGS[rng.u32() % FIELD_ENCODINGS.length];
      if (((enc >>> 10) & 3) !== 1) b.vmx.apiVmwrite(enc, rng.u32() | 0);
    }
    b.vmx.apiVmwrite(F.EntryMsrLoadCount, rng.u32() % 1000);
    b.vmx.apiVmwrite(F.EntryMsrLoadAddress, rng.u32() & ~15);
  }
  const out: Outcome = { entries: 0, failures: 0, laterFailures: 0, reasons: [], cycles: 0 };
  for (let round = 0; round < 30; round++) {
    const r = b.enter();
    if (r.status !== 'succeed') {
      out.failures++;
      if (round > 0) out.laterFailures++;
      break;
    }
    out.entries++;
    const e = b.resume(20_000);
    out.reasons.push(e.reason);
    if (e.stop !== 'vmexit' || (e.reason & 0x80000000) !== 0) break;
    // A VMM that skips whatever exited (instruction exits), and sends the guest elsewhere in its code after
    // an exception, EPT or triple-fault exit.
    if (e.length > 0 && e.length <= 15) b.skip();
    else if (e.reason === 0 || e.reason === 2 || e.reason === 48 || e.reason === 49) b.write(F.GuestRip, GUEST_CODE + (rng.u32() & 0x7ff));
    b.write(F.EntryInterruptionInfo, 0);
  }
  out.cycles = b.scheduler.now;
  return out;
}

describe('hostile VMX programming and random guests', () => {
  it('never throws or hangs the host (150 seeds)', () => {
    let entries = 0;
    let exits = 0;
    let laterFailures = 0;
    for (let seed = 1; seed <= 150; seed++) {
      let o: Outcome | undefined;
      expect(() => (o = fuzz(seed)), `seed ${seed}`).not.toThrow();
      entries += o!.entries;
      exits += o!.reasons.length;
      laterFailures += o!.laterFailures;
    }
    // The fuzzing reaches non-root operation and exits, not only entry failures; every saved guest state is
    // re-enterable (no VMRESUME after the first entry fails).
    expect(entries).toBeGreaterThan(1500);
    expect(exits).toBeGreaterThan(1500);
    expect(laterFailures).toBe(0);
  });

  it('is deterministic: the same seed gives the same entries, exits and cycles', () => {
    for (const seed of [3, 17, 42]) expect(fuzz(seed)).toEqual(fuzz(seed));
  });

  it('uses the guest code it was given', () => {
    const b = new VmxBench(new Uint8Array([0x0f, 0xa2])); // CPUID
    expect(b.run().rip).toBe(GUEST_CODE);
  });
});
