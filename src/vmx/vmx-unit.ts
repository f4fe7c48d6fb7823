// The VMX unit of one logical processor: VMX operation state and the VMX operations (SDM Vol. 3 chapter 30),
// which guest machine code reaches through vmx-instructions.ts and a hypervisor in TypeScript through the typed
// API here: one implementation. Entry and exit steps are vm-entry.ts/vm-exit.ts', intercepts intercepts.ts'.

import type { Cpu } from '../cpu/cpu.js';
import { VMEXIT } from '../cpu/fault.js';
import type { EventKind } from '../cpu/interrupts.js';
import { Flag } from '../cpu/flags.js';
import { CrAccess, DtInstr, VmxOp, type VmxHooks, type GuestPhysical } from '../cpu/vmx-hooks.js';
import type { MsrDevice } from '../core/msr-bus.js';
import type { Timer } from '../core/scheduler.js';
import { CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, CR4_VMXE, PREEMPTION_TIMER_RATE, VMCS_REVISION, capabilityMsr } from './capabilities.js';
import { ExitReason, Pin, Proc, VmxError, EXIT_REASON_ENTRY_FAILURE } from './controls.js';
import { checkControls, checkGuestState, checkHostState } from './entry-checks.js';
import { Ept, EptResult, eptPointerProblem } from './ept.js';
import { ExitInfo, vmExit } from './vm-exit.js';
import { injectEvent, loadGuestState } from './vm-entry.js';
import { LaunchState, Vmcs } from './vmcs.js';
import { VmcsField as F } from './vmcs-fields.js';
import * as intercept from './intercepts.js';
import { executeVmxInstruction } from './vmx-instructions.js';
import { loadMsrList, readMsrLo, storeMsrs, writeMsr } from './msr-areas.js';
import { CONTROL_CHANGE_ENTRY_CYCLES, VM_ENTRY_CYCLES } from './cost-model.js';

/** CPUID.1:ECX.VMX (SDM Vol. 2 CPUID). */
export const LEAF1_ECX_VMX = 1 << 5;
/** IA32_FEATURE_CONTROL bits (SDM Vol. 4): lock, VMX outside SMX. */
export const FEATURE_CONTROL_LOCK = 1;
export const FEATURE_CONTROL_VMX = 4;
export const INVALID_POINTER = -1;
/** VMCSs the processor keeps cached (an implementation choice; any number is architectural). */
const VMCS_CACHE_ENTRIES = 16;

/**
 * The outcome of a VMX instruction as the typed API reports it: VMsucceed, VMfailInvalid, VMfailValid(error),
 * or, for VMLAUNCH/VMRESUME, a VM-entry failure exit (reason 33/34 with bit 31; the host state was loaded).
 * `check` names the failed VM-entry check.
 */
export interface VmxResult {
  status: 'succeed' | 'fail-invalid' | 'fail-valid' | 'entry-failure';
  error: number;
  check: string | null;
}

/** Internal result codes: 0 VMsucceed, -1 VMfailInvalid, n > 0 VMfailValid(n), ENTRY_FAILED. */
export const FAIL_INVALID = -1;
export const ENTRY_FAILED = -2;

export class Vmx implements VmxHooks, GuestPhysical, MsrDevice {
  readonly name = 'vmx';
  /** In VMX operation (after VMXON), and the VMXON region's address. */
  inVmx = false;
  vmxonPointer = INVALID_POINTER;
  current: Vmcs | null = null;
  /**
   * The processor's VMCS data cache (SDM 24.11.1), by region address, oldest first: bounded, so that a guest
   * cycling through regions cannot grow it; an evicted VMCS is written back to its region, as hardware may.
   */
  private readonly vmcsCache = new Map<number, Vmcs>();
  readonly ept: Ept;
  readonly exitInfo = new ExitInfo();
  /** The name of the last failed VM-entry check (VMfailValid 7/8 or exit 33/34), for the log and the API. */
  lastCheck: string | null = null;
  /** VM exits by basic reason, and VM-entry failures. */
  readonly exitCounts = new Uint32Array(80);
  entryFailures = 0;
  entries = 0;
  /** The VM entry in progress was requested through the TypeScript API: exits return from Cpu.run ('vmexit'). */
  hostIsApi = false;

  // Controls decoded once at VM entry (STYLE: the Bochs model).
  pin = 0;
  proc = 0;
  proc2 = 0;
  exitCtl = 0;
  entryCtl = 0;
  exceptionBitmap = 0;
  pfMask = 0;
  pfMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  cr3TargetCount = 0;
  readonly cr3Targets = new Int32Array(4);
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** Host NMI blocking across the guest's run. */
  hostNmiBlocked = false;
  /** A pending MTF VM exit (injection type 7), and event injection in progress. */
  pendingMtf = false;
  injecting = false;
  /** VMX-preemption timer: TSC >> rate at entry, the value loaded, and the deadline in cycles. */
  private timerBase = 0;
  private timerValue = 0;
  timerDeadline = Infinity;
  private readonly timer: Timer;
  /** A control field changed since the last entry: the next entry pays for the full checks (cost model). */
  private controlsDirty = true;
  /** After translate(): whether the page may be written without another walk. */
  lastWritable = false;

  constructor(readonly cpu: Cpu) {
    this.ept = new Ept(cpu.memory);
    this.timer = cpu.scheduler.createTimer('vmx-preemption-timer', () => cpu.breakLoop());
  }

  /** Gives the CPU VMX: CPUID.1:ECX.VMX, CR4.VMXE, the capability MSRs, the VMX instructions. */
  static install(cpu: Cpu): Vmx {
    const vmx = new Vmx(cpu);
    cpu.vmx = vmx;
    cpu.cr4Supported |= CR4_VMXE;
    cpu.features.leaf1Ecx |= LEAF1_ECX_VMX;
    cpu.msr.attach(vmx);
    return vmx;
  }

  // ------------------------------------------------------------------ capability MSRs (MsrDevice)

  claims(index: number): boolean {
    return index >= 0x480 && index <= 0x490;
  }

  rdmsr(index: number, result: Int32Array): boolean {
    const v = capabilityMsr(index);
    if (v === null) return false;
    result[0] = v[0];
    result[1] = v[1];
    return true;
  }

  /** The capability MSRs are read-only: WRMSR raises #GP (SDM Vol. 4 table 2-2). */
  wrmsr(): boolean {
    return false;
  }

  // ------------------------------------------------------------------ the instructions (VmxHooks)

  instruction(op: VmxOp, s: number): void {
    executeVmxInstruction(this, op, s);
  }

  // ------------------------------------------------------------------ operations (shared with the API)

  /** VMXON with the region's physical address (the instruction has done the #UD/#GP checks). */
  vmxon(lo: number, hi: number): number {
    if (this.inVmx) return VmxError.VmxonInRoot;
    if (!validRegionAddress(lo, hi)) return FAIL_INVALID;
    const rev = this.cpu.memory.read(lo >>> 0, 4);
    if (rev !== VMCS_REVISION) return FAIL_INVALID; // bits 30:0 and bit 31 (no shadow VMCS)
    this.inVmx = true;
    this.vmxonPointer = lo | 0;
    this.current = null;
    this.cpu.cr0Fixed0 = CR0_FIXED0;
    this.cpu.cr4Fixed0 = CR4_FIXED0;
    return 0;
  }

  vmxoff(): number {
    this.inVmx = false;
    this.vmxonPointer = INVALID_POINTER;
    for (const v of this.vmcsCache.values()) {
      if (v.launchState === LaunchState.Launched) v.launchedBeforeVmxoff = true;
      v.writeBack(this.cpu.memory);
    }
    this.vmcsCache.clear();
    this.current = null;
    this.cpu.cr0Fixed0 = 0;
    this.cpu.cr4Fixed0 = 0;
    return 0;
  }

  vmclear(lo: number, hi: number): number {
    if (!validRegionAddress(lo, hi)) return VmxError.VmclearInvalidAddress;
    if ((lo | 0) === this.vmxonPointer) return VmxError.VmclearVmxonPointer;
    // VMCLEAR writes the VMCS's data to its region and makes it clear (SDM 30.3 VMCLEAR).
    const v = this.vmcsAt(lo | 0);
    v.launchState = LaunchState.Clear;
    v.launchedBeforeVmxoff = false;
    v.writeBack(this.cpu.memory);
    this.vmcsCache.delete(v.address);
    if (this.current === v) this.current = null;
    return 0;
  }

  vmptrld(lo: number, hi: number): number {
    if (!validRegionAddress(lo, hi)) return VmxError.VmptrldInvalidAddress;
    if ((lo | 0) === this.vmxonPointer) return VmxError.VmptrldVmxonPointer;
    if (this.cpu.memory.read(lo >>> 0, 4) !== VMCS_REVISION) return VmxError.VmptrldBadRevision;
    this.current = this.vmcsAt(lo | 0);
    return 0;
  }

  vmwrite(encoding: number, value: number): number {
    const v = this.current;
    if (v === null) return FAIL_INVALID;
    const r = v.vmwrite(encoding, value);
    if (r === 0 && (encoding & 0x6c00) === 0x4000) this.controlsDirty = true; // a 32-bit control
    return r;
  }

  invept(type: number, lo: number, hi: number): number {
    if (type === 1) {
      if (eptPointerProblem(lo, hi) !== null) return VmxError.InvalidInveptOperand;
      this.ept.invalidate(lo, hi);
    } else if (type === 2) {
      this.ept.invalidate();
    } else {
      return VmxError.InvalidInveptOperand;
    }
    this.cpu.flushTlb(); // the CPU's TLB holds combined linear-to-host-physical translations
    return 0;
  }

  private vmcsAt(address: number): Vmcs {
    let v = this.vmcsCache.get(address);
    if (v === undefined) {
      if (this.vmcsCache.size >= VMCS_CACHE_ENTRIES) {
        for (const old of this.vmcsCache.values()) {
          if (old === this.current) continue;
          old.writeBack(this.cpu.memory);
          this.vmcsCache.delete(old.address);
          break;
        }
      }
      v = Vmcs.readFrom(this.cpu.memory, address);
      this.vmcsCache.set(address, v);
    }
    return v;
  }

  // ------------------------------------------------------------------ VM entry

  /**
   * VMLAUNCH/VMRESUME after the common checks (SDM 30.3): the launch state, the control and host-state checks
   * (VMfailValid 7/8), then the guest-state checks (an entry-failure exit), loading and injection.
   */
  /** VMLAUNCH/VMRESUME: 0 entered, FAIL_INVALID, n (VMfailValid), or ENTRY_FAILED (the host state is loaded). */
  enter(launch: boolean): number {
    const cpu = this.cpu;
    const v = this.current;
    if (v === null) return FAIL_INVALID;
    if (cpu.shadow === 2) return VmxError.EntryEventsBlockedByMovSs;
    if (launch && v.launchState !== LaunchState.Clear) return VmxError.VmlaunchNonClear;
    if (!launch && v.launchedBeforeVmxoff) return VmxError.VmresumeAfterVmxoff;
    if (!launch && v.launchState !== LaunchState.Launched) return VmxError.VmresumeNonLaunched;
    this.lastCheck = checkControls(v);
    if (this.lastCheck !== null) return this.failedCheck(VmxError.EntryInvalidControls);
    this.lastCheck = checkHostState(v);
    if (this.lastCheck !== null) return this.failedCheck(VmxError.EntryInvalidHostState);
    this.decodeControls(v);
    this.spend(VM_ENTRY_CYCLES + (this.controlsDirty ? CONTROL_CHANGE_ENTRY_CYCLES : 0));
    this.controlsDirty = false;
    const guest = checkGuestState(v, (pa) => cpu.memory.read(pa, 4));
    if (guest !== null) {
      this.lastCheck = guest.check;
      return this.entryFailure(ExitReason.InvalidGuestState, guest.qualification);
    }
    this.entries++;
    loadGuestState(this, v);
    const failedMsr = this.loadMsrList(v.get(F.EntryMsrLoadAddress), v.get(F.EntryMsrLoadCount));
    if (failedMsr !== 0) {
      this.lastCheck = `VM-entry MSR-load entry ${failedMsr}`;
      return this.entryFailure(ExitReason.MsrLoading, failedMsr);
    }
    if (launch) v.launchState = LaunchState.Launched;
    if (cpu.logger.enabled('vmexit')) cpu.logger.log('vmexit', `kvm_entry: vcpu 0, rip 0x${(cpu.eip >>> 0).toString(16)}`);
    this.enterNonRoot(v);
    injectEvent(this, v);
    return 0;
  }

  private failedCheck(error: number): number {
    const cpu = this.cpu;
    this.entryFailures++;
    if (cpu.logger.enabled('guest_errors')) cpu.logger.log('guest_errors', `VM entry failed: VMfailValid(${error}): ${this.lastCheck}`);
    return error;
  }

  /** A VM-entry failure: exit reason with bit 31, host state loaded, nothing saved (SDM 27.8). */
  private entryFailure(reason: number, qualification: number): number {
    const cpu = this.cpu;
    this.entryFailures++;
    if (cpu.logger.enabled('guest_errors')) cpu.logger.log('guest_errors', `VM entry failed: exit ${reason} | 0x80000000: ${this.lastCheck}`);
    this.exitInfo.reset(cpu.eip).qualification = qualification;
    cpu.nonRoot = false;
    vmExit(this, reason | EXIT_REASON_ENTRY_FAILURE);
    return ENTRY_FAILED;
  }

  private decodeControls(v: Vmcs): void {
    this.pin = v.get(F.PinControls);
    this.proc = v.get(F.ProcControls);
    this.proc2 = (this.proc & Proc.SecondaryControls) !== 0 ? v.get(F.ProcControls2) : 0;
    this.exitCtl = v.get(F.ExitControls);
    this.entryCtl = v.get(F.EntryControls);
    this.exceptionBitmap = v.get(F.ExceptionBitmap);
    this.pfMask = v.get(F.PfErrorCodeMask);
    this.pfMatch = v.get(F.PfErrorCodeMatch);
    this.cr0Mask = v.get(F.Cr0GuestHostMask);
    this.cr0Shadow = v.get(F.Cr0ReadShadow);
    this.cr4Mask = v.get(F.Cr4GuestHostMask);
    this.cr4Shadow = v.get(F.Cr4ReadShadow);
    this.cr3TargetCount = v.get(F.Cr3TargetCount);
    for (let i = 0; i < 4; i++) this.cr3Targets[i] = v.get(F.Cr3Target0 + 2 * i);
    this.ioBitmapA = v.get(F.IoBitmapA);
    this.ioBitmapB = v.get(F.IoBitmapB);
    this.msrBitmap = v.get(F.MsrBitmap);
  }

  private enterNonRoot(v: Vmcs): void {
    const cpu = this.cpu;
    cpu.nonRoot = true;
    cpu.delivering = 0;
    if ((this.proc2 & 2) !== 0) {
      this.ept.setPointer(v.get(F.EptPointer), v.getHigh(F.EptPointer));
      cpu.gpa = this;
    } else {
      cpu.gpa = null;
    }
    cpu.guestTscOffset = (this.proc & Proc.TscOffsetting) !== 0 ? tscOffset(v) : 0;
    cpu.stepping = (this.proc & Proc.MonitorTrapFlag) !== 0;
    // With NMI exiting and no virtual NMIs, IRET does not affect blocking by NMI (SDM 26.3).
    cpu.iretKeepsNmiBlocking = (this.pin & (Pin.NmiExiting | Pin.VirtualNmis)) === Pin.NmiExiting;
    this.pendingMtf = false;
    if ((this.pin & Pin.PreemptionTimer) !== 0) {
      // Counts down by one each time TSC bit X changes (SDM 26.5.1, X = IA32_VMX_MISC[4:0]).
      const tsc = this.hostTsc();
      this.timerBase = Math.floor(tsc / (1 << PREEMPTION_TIMER_RATE));
      this.timerValue = v.get(F.PreemptionTimerValue) >>> 0;
      this.timerDeadline = (this.timerBase + this.timerValue) * (1 << PREEMPTION_TIMER_RATE) - (tsc - cpu.now());
      cpu.scheduler.arm(this.timer, Math.max(this.timerDeadline, cpu.now()));
    } else {
      this.timerDeadline = Infinity;
    }
    cpu.flushTlb(); // no VPID: entries and exits flush guest-linear translations (SDM 29.4.3.x)
  }

  /** Called by vmExit before the host state is loaded. */
  leaveNonRoot(): void {
    const cpu = this.cpu;
    cpu.nonRoot = false;
    cpu.gpa = null;
    cpu.guestTscOffset = 0;
    cpu.stepping = false;
    cpu.iretKeepsNmiBlocking = false;
    cpu.cr0Fixed0 = CR0_FIXED0;
    cpu.cr4Fixed0 = CR4_FIXED0;
    if (this.timerDeadline !== Infinity) cpu.scheduler.cancel(this.timer);
    this.timerDeadline = Infinity;
    this.pendingMtf = false;
  }

  /** Called by vmExit last: hand control back to the host. */
  afterExit(): void {
    if (this.hostIsApi) {
      this.cpu.exitToApi = true;
      this.cpu.breakLoop();
    }
  }

  /** VMX abort (SDM 28.7): the abort indicator is written to the VMCS region and the processor shuts down. */
  abort(code: number, why: string): void {
    const cpu = this.cpu;
    if (this.current !== null) cpu.memory.write((this.current.address + 4) >>> 0, 4, code);
    cpu.nonRoot = false;
    cpu.triggerShutdown(`VMX abort ${code}: ${why}`);
  }

  hostTsc(): number {
    return this.cpu.now() + this.cpu.msr.tscOffset;
  }

  preemptionTimerRemaining(): number {
    const ticks = Math.floor(this.hostTsc() / (1 << PREEMPTION_TIMER_RATE)) - this.timerBase;
    return Math.max(0, this.timerValue - ticks);
  }

  /**
   * Charges cycles to the simulated clock, inside or outside Cpu.run. Between slices the CPU's clock is
   * `cycles` (Cpu.run copies it to the scheduler when it returns), so both move together.
   */
  spend(n: number): void {
    const cpu = this.cpu;
    if (cpu.inSlice) {
      cpu.charge(n);
    } else {
      cpu.cycles += n;
      cpu.scheduler.now = cpu.cycles;
    }
  }

  countExit(reason: number): void {
    if (reason < 0) return;
    this.exitCounts[reason & 0xffff] += 1;
  }

  // ------------------------------------------------------------------ MSR areas (msr-areas.ts)

  readMsrLo(index: number): number {
    return readMsrLo(this.cpu, index);
  }

  writeMsr(index: number, lo: number, hi = 0): boolean {
    return writeMsr(this.cpu, index, lo, hi);
  }

  /** The VM-entry MSR-load area: 0, or the 1-based failing entry. */
  private loadMsrList(address: number, count: number): number {
    return loadMsrList(this.cpu, address, count, (index) => this.claims(index));
  }

  loadMsrs(address: number, count: number): boolean {
    return this.loadMsrList(address, count) === 0;
  }

  storeMsrs(address: number, count: number): boolean {
    return storeMsrs(this.cpu, address, count);
  }

  // ------------------------------------------------------------------ EPT (GuestPhysical)

  translate(gpa: number, access: number, walk: boolean, lin: number): number {
    const hpa = this.ept.translate(gpa, access, walk);
    if (hpa !== -1) {
      this.lastWritable = this.ept.lastWritable;
      return hpa;
    }
    intercept.eptExit(this, this.ept.result === EptResult.Misconfig, this.ept.qualification | (walk ? 0x80 : 0x180), this.ept.faultGpa, lin);
    throw VMEXIT;
  }

  // ------------------------------------------------------------------ non-root intercepts (VmxHooks)

  boundary(): boolean {
    return intercept.boundary(this);
  }

  afterStep(): void {
    intercept.afterStep(this);
  }

  wakeable(): boolean {
    const cpu = this.cpu;
    return (this.pin & Pin.ExternalInterruptExiting) !== 0 || (cpu.flags & Flag.IF) !== 0 || this.timerDeadline !== Infinity || cpu.nmiPending;
  }

  simple(reason: number, s: number): void {
    intercept.simple(this, reason, s);
  }

  invlpg(s: number, lin: number): void {
    intercept.invlpg(this, s, lin);
  }

  readCr(s: number, cr: number, value: number): number {
    return intercept.readCr(this, s, cr, value);
  }

  writeCr(s: number, cr: number, access: CrAccess, value: number): number {
    return intercept.writeCr(this, s, cr, access, value);
  }

  movDr(s: number, write: boolean): void {
    intercept.movDr(this, s, write);
  }

  io(s: number, port: number, size: number, flags: number): void {
    intercept.io(this, s, port, size, flags);
  }

  msr(s: number, write: boolean): void {
    intercept.msr(this, s, write);
  }

  descriptorTable(s: number, instr: DtInstr): void {
    intercept.descriptorTable(this, s, instr);
  }

  event(vector: number, type: EventKind, hasError: boolean, error: number): void {
    intercept.event(this, vector, type, hasError, error);
  }

  tripleFault(): void {
    intercept.tripleFault(this);
  }

  reset(): void {
    if (this.timerDeadline !== Infinity) this.cpu.scheduler.cancel(this.timer);
    this.timerDeadline = Infinity;
    this.inVmx = false;
    this.vmxonPointer = INVALID_POINTER;
    this.current = null;
    this.vmcsCache.clear();
    this.hostIsApi = false;
    this.pendingMtf = this.injecting = false;
    this.ept.invalidate();
  }

  // ------------------------------------------------------------------ the typed API (same operations)

  /** IA32_FEATURE_CONTROL as firmware leaves it for a VMM: locked, VMX outside SMX enabled. */
  enableInFeatureControl(): void {
    const msr = this.cpu.msr;
    if ((msr.featureControl & FEATURE_CONTROL_LOCK) === 0) msr.featureControl = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX;
  }

  /** VMXON from TypeScript: the same checks as the instruction, as results instead of exceptions. */
  apiVmxon(address: number): VmxResult {
    const cpu = this.cpu;
    if ((cpu.cr4 & CR4_VMXE) === 0) return result(FAIL_INVALID, 'CR4.VMXE = 0 (#UD)');
    const fc = cpu.msr.featureControl;
    if ((fc & FEATURE_CONTROL_LOCK) === 0 || (fc & FEATURE_CONTROL_VMX) === 0) return result(FAIL_INVALID, 'IA32_FEATURE_CONTROL (#GP)');
    if (!fixedBitsHold(cpu.cr0, CR0_FIXED0, CR0_FIXED1) || !fixedBitsHold(cpu.cr4, CR4_FIXED0, CR4_FIXED1)) return result(FAIL_INVALID, 'CR0/CR4 fixed bits (#GP)');
    return this.apiResult(this.vmxon(address, 0));
  }

  apiVmxoff(): VmxResult {
    return this.apiResult(this.inVmx ? this.vmxoff() : FAIL_INVALID);
  }

  apiVmclear(address: number): VmxResult {
    return this.apiResult(this.inVmx ? this.vmclear(address, 0) : FAIL_INVALID);
  }

  apiVmptrld(address: number): VmxResult {
    return this.apiResult(this.inVmx ? this.vmptrld(address, 0) : FAIL_INVALID);
  }

  /** VMREAD: the field's value, or null when the read failed (see VmxResult from vmreadResult). */
  vmread(encoding: number): number | null {
    const v = this.current;
    if (v === null || v.vmread(encoding) !== 0) return null;
    return v.readValue;
  }

  apiVmwrite(encoding: number, value: number): VmxResult {
    return this.apiResult(this.vmwrite(encoding, value));
  }

  /** VMLAUNCH / VMRESUME from TypeScript; on 'succeed' the next Cpu.run runs the guest until a VM exit ('vmexit'). */
  apiVmlaunch(): VmxResult {
    return this.apiEnter(true);
  }

  apiVmresume(): VmxResult {
    return this.apiEnter(false);
  }

  apiInvept(type: number, eptpLo: number, eptpHi = 0): VmxResult {
    return this.apiResult(this.invept(type, eptpLo, eptpHi));
  }

  private apiEnter(launch: boolean): VmxResult {
    if (!this.inVmx) return result(FAIL_INVALID, 'not in VMX operation (#UD)');
    this.hostIsApi = true;
    // Outside Cpu.run the scheduler holds the time: the entry (its cost, the preemption timer's start, the TSC
    // the guest reads) must count from it, not from where the CPU's clock stopped at the last exit.
    this.cpu.cycles = this.cpu.scheduler.now;
    this.lastCheck = null;
    let r: number;
    try {
      r = this.enter(launch);
    } catch (e) {
      if (e !== VMEXIT) throw e;
      r = 0; // the injected event's delivery exited: Cpu.run reports it
    }
    if (r === ENTRY_FAILED) {
      this.cpu.exitToApi = false; // the caller learns it here, not from run()
      return { status: 'entry-failure', error: this.current!.get(F.ExitReason), check: this.lastCheck };
    }
    return this.apiResult(r);
  }

  private apiResult(r: number): VmxResult {
    if (r === 0) return { status: 'succeed', error: 0, check: null };
    if (r === FAIL_INVALID || this.current === null) return { status: 'fail-invalid', error: 0, check: this.lastCheck };
    this.current.set(F.VmInstructionError, r);
    return { status: 'fail-valid', error: r, check: r === 7 || r === 8 ? this.lastCheck : null };
  }
}

function result(r: number, check: string): VmxResult {
  return { status: r === FAIL_INVALID ? 'fail-invalid' : 'fail-valid', error: r > 0 ? r : 0, check };
}

/** A VMXON/VMCS region address: 4 KiB aligned, within the 32-bit physical-address width (BASIC[48]). */
function validRegionAddress(lo: number, hi: number): boolean {
  return (lo & 0xfff) === 0 && hi === 0;
}

export function fixedBitsHold(v: number, fixed0: number, fixed1: number): boolean {
  return (v & fixed0) === fixed0 && (v & ~fixed1) === 0;
}

function tscOffset(v: Vmcs): number {
  return v.getHigh(F.TscOffset) * 0x1_0000_0000 + (v.get(F.TscOffset) >>> 0);
}

