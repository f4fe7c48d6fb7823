// A virtual machine run by the hypervisor written in TypeScript: guest RAM mapped by EPT, an unrestricted guest
// started in the state the CPU holds (the multiboot entry state), emulated devices behind I/O exits, and the exit
// loop: run until a VM exit, dispatch through exits.ts' table, charge the cost model, resume.

import type { Cpu, CpuStop } from '../cpu/cpu.js';
import { Reg } from '../cpu/registers.js';
import { cr0WriteFaults } from '../cpu/exec/system.js';
import type { Logger } from '../core/tracer.js';
import type { PhysicalMemory } from '../core/physical-memory.js';
import type { Scheduler } from '../core/scheduler.js';
import type { Vmx } from '../vmx/vmx-unit.js';
import { EptBuilder } from '../vmx/ept.js';
import { VmcsField as F, GUEST_SEGMENT_FIELDS } from '../vmx/vmcs-fields.js';
import { TRUE_ENTRY_CTLS, TRUE_EXIT_CTLS, TRUE_PIN_CTLS, TRUE_PROC_CTLS, VMCS_REVISION } from '../vmx/capabilities.js';
import { ActivityState, EXIT_REASON_NAMES, ExitCtl, Interruptibility, IntrInfo, IntrType, Pin, Proc, Proc2 } from '../vmx/controls.js';
import { handlerCycles } from '../vmx/cost-model.js';
import { EXIT_HANDLERS, type ExitAction, PASSTHROUGH_READ_MSRS, PASSTHROUGH_WRITE_MSRS, hardwareException } from './exits.js';
import { VirtualDevices, type VirtualDeviceSinks } from './virtual-devices.js';
import { VirtualMsrs } from './virtual-msrs.js';

/** Ports the VM reaches without exits: the 8259 pair and the 8254 (devices.md 6.2). */
const PASSTHROUGH_PORTS: readonly number[] = [0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43];
const EFLAGS_IF = 1 << 9;
/** Elements of a REP INS/OUTS emulated per I/O exit. */
const STRING_IO_CHUNK = 4096;

/** Host memory the hypervisor keeps above guest RAM: VMXON region, VMCS, bitmaps, EPT tables. */
export const HOST_RESERVE_BYTES = 4 << 20;
const CR0_NE = 1 << 5;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
const CR0_PG = 1 << 31;
const CR4_VMXE = 1 << 13;

export interface VmOptions {
  cpu: Cpu;
  vmx: Vmx;
  scheduler: Scheduler;
  logger: Logger;
  /** Guest RAM: guest-physical [0, guestRamBytes), identity-mapped to host-physical (host memory lies above). */
  guestRamBytes: number;
  sinks: VirtualDeviceSinks;
  /** True once the guest wrote isa-debug-exit (the loop stops). */
  exited: () => boolean;
}

export type VmStop = 'debug-exit' | 'shutdown' | 'halted' | 'max-cycles' | 'entry-failure' | 'unhandled-exit';

export interface VmRunResult {
  stop: VmStop;
  /** One line naming why the VM stopped when it was not the guest's doing (entry failure, unhandled exit). */
  message?: string;
  /** VM exits by reason name (KVM's spelling), in first-seen order. */
  exits: Record<string, number>;
  entries: number;
  /** Cycles the hypervisor's handlers were charged (cost model). */
  handlerCycles: number;
  /** The guest state and last exit, when the VM stopped on an entry failure or an unexpected exit. */
  dump?: string;
}

export class Vm {
  readonly cpu: Cpu;
  readonly vmx: Vmx;
  readonly devices: VirtualDevices;
  readonly msrs: VirtualMsrs;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly hostBase: number;
  private nextPage: number;
  private readonly exitCounts = new Map<string, number>();
  private entries = 0;
  private handlerCharged = 0;
  private readonly exited: () => boolean;
  private launched = false;
  /** Vectors acknowledged on external-interrupt exits and not yet injected (oldest first). */
  private readonly pendingVectors: number[] = [];
  injections = 0;

  constructor(options: VmOptions) {
    this.cpu = options.cpu;
    this.vmx = options.vmx;
    this.scheduler = options.scheduler;
    this.logger = options.logger;
    this.exited = options.exited;
    this.devices = new VirtualDevices(options.sinks);
    this.msrs = new VirtualMsrs(
      () => this.cpu.now() + this.cpu.msr.tscOffset + this.tscOffset(),
      (value) => this.setTscOffset(value - (this.cpu.now() + this.cpu.msr.tscOffset)),
    );
    const ram = options.guestRamBytes;
    this.hostBase = Math.ceil(ram / 0x200000) * 0x200000;
    if (this.hostBase + HOST_RESERVE_BYTES > this.cpu.memory.ramBytes) throw new RangeError('no host memory above guest RAM');
    this.nextPage = this.hostBase;
    this.setUp(ram);
  }

  private allocatePage(): number {
    const p = this.nextPage;
    this.nextPage += 0x1000;
    this.cpu.memory.fill(p, 0x1000, 0);
    return p;
  }

  /** VMXON, the VMCS and EPT (SDM 31.5 "VMM setup"): the guest state is what the CPU holds now. */
  private setUp(ram: number): void {
    const cpu = this.cpu;
    const vmx = this.vmx;
    const mem = cpu.memory;
    const vmxon = this.allocatePage();
    const vmcs = this.allocatePage();
    const msrBitmap = this.allocatePage();
    const ioBitmapA = this.allocatePage();
    const ioBitmapB = this.allocatePage();
    mem.write(vmxon, 4, VMCS_REVISION);
    mem.write(vmcs, 4, VMCS_REVISION);
    // EPT: guest RAM identity-mapped, 2 MiB pages where they fit, RWX, write-back.
    const ept = new EptBuilder(mem, () => this.allocatePage());
    let gpa = 0;
    for (; gpa + 0x200000 <= ram; gpa += 0x200000) ept.map2m(gpa, gpa, 7);
    for (; gpa + 0x1000 <= ram; gpa += 0x1000) ept.map4k(gpa, gpa, 7);
    // I/O bitmaps (SDM 24.6.4): every port exits except the board's 8259 pair and 8254, which the VM owns
    // (pass-through, like an assigned device); their interrupts come back as external-interrupt exits.
    mem.fill(ioBitmapA, 0x1000, 0xff);
    mem.fill(ioBitmapB, 0x1000, 0xff);
    for (const port of PASSTHROUGH_PORTS) clearBit(mem, ioBitmapA, port);
    // MSR bitmap: everything exits except the pass-through lists (SDM 24.6.9).
    mem.fill(msrBitmap, 0x1000, 0xff);
    for (const m of PASSTHROUGH_READ_MSRS) clearBit(mem, msrBitmap, m);
    for (const m of PASSTHROUGH_WRITE_MSRS) clearBit(mem, msrBitmap + 0x800, m);

    // Capture the guest's starting state before the host state replaces it.
    const guest = {
      cr0: cpu.cr0,
      cr3: cpu.cr3,
      cr4: cpu.cr4,
      eip: cpu.eip,
      esp: cpu.reg32[Reg.ESP],
      eflags: cpu.getFlags(),
      sel: Array.from(cpu.segSel),
      base: Array.from(cpu.segBase),
      limit: Array.from(cpu.segLimit),
      ar: Array.from(cpu.segAr),
      gdt: [cpu.gdtBase, cpu.gdtLimit],
      idt: [cpu.idtBase, cpu.idtLimit],
    };
    // The root-mode CPU state VMXON requires (PE, NE, PG, VMXE); the host is TypeScript and runs no code.
    cpu.cr0 = (0x80000031 | 0) | (guest.cr0 & (CR0_CD | CR0_NW));
    cpu.cr4 = CR4_VMXE;
    vmx.enableInFeatureControl();
    this.check(vmx.apiVmxon(vmxon), 'VMXON');
    this.check(vmx.apiVmclear(vmcs), 'VMCLEAR');
    this.check(vmx.apiVmptrld(vmcs), 'VMPTRLD');

    const w = (f: number, v: number): void => this.check(vmx.apiVmwrite(f, v), `VMWRITE ${f.toString(16)}`);
    // Trap-style interrupt delivery (DESIGN.md `trap`): interrupts exit, the host acknowledges and injects.
    w(F.PinControls, TRUE_PIN_CTLS.allowed0 | Pin.ExternalInterruptExiting);
    w(F.ProcControls, TRUE_PROC_CTLS.allowed0 | Proc.HltExiting | Proc.UseIoBitmaps | Proc.UseMsrBitmaps | Proc.SecondaryControls);
    w(F.IoBitmapA, ioBitmapA);
    w(F.IoBitmapB, ioBitmapB);
    w(F.ProcControls2, Proc2.EnableEpt | Proc2.UnrestrictedGuest);
    w(F.ExitControls, TRUE_EXIT_CTLS.allowed0 | ExitCtl.AckInterruptOnExit);
    w(F.EntryControls, TRUE_ENTRY_CTLS.allowed0);
    w(F.EptPointer, ept.eptpLo(false));
    w(F.MsrBitmap, msrBitmap);
    w(F.VmcsLinkPointer, -1);
    w(F.VmcsLinkPointer + 1, -1);
    // CR0.NE must stay 1 and CR4.VMXE too (IA32_VMX_CR*_FIXED0): the host owns them and the read shadows show
    // the guest what it wrote (SDM 25.3).
    w(F.Cr0GuestHostMask, CR0_NE);
    w(F.Cr0ReadShadow, guest.cr0 & CR0_NE);
    w(F.Cr4GuestHostMask, CR4_VMXE);
    w(F.Cr4ReadShadow, 0);
    // Host state: flat, never executed (exits return to TypeScript), but it has to pass the entry checks.
    w(F.HostCr0, cpu.cr0);
    w(F.HostCr3, 0);
    w(F.HostCr4, CR4_VMXE);
    w(F.HostCsSelector, 0x08);
    for (const f of [F.HostEsSelector, F.HostSsSelector, F.HostDsSelector, F.HostFsSelector, F.HostGsSelector]) w(f, 0x10);
    w(F.HostTrSelector, 0x18);
    // Guest state: the multiboot entry state the loader left in the CPU.
    w(F.GuestCr0, guest.cr0 | CR0_NE);
    w(F.GuestCr3, guest.cr3);
    w(F.GuestCr4, guest.cr4 | CR4_VMXE);
    w(F.GuestDr7, 0x400);
    for (let s = 0; s < 6; s++) {
      const f = GUEST_SEGMENT_FIELDS[s];
      w(f.selector, guest.sel[s]);
      w(f.base, guest.base[s]);
      w(f.limit, guest.limit[s]);
      w(f.ar, guest.ar[s]);
    }
    const ldtr = GUEST_SEGMENT_FIELDS[6];
    w(ldtr.ar, 0x10000);
    // TR after reset: base 0, limit FFFF, a busy 32-bit TSS (the entry checks want a usable TR).
    const tr = GUEST_SEGMENT_FIELDS[7];
    w(tr.limit, 0xffff);
    w(tr.ar, 0x8b);
    w(F.GuestGdtrBase, guest.gdt[0]);
    w(F.GuestGdtrLimit, guest.gdt[1]);
    w(F.GuestIdtrBase, guest.idt[0]);
    w(F.GuestIdtrLimit, guest.idt[1]);
    w(F.GuestRsp, guest.esp);
    w(F.GuestRip, guest.eip);
    w(F.GuestRflags, guest.eflags);
  }

  private check(r: { status: string; error: number; check: string | null }, what: string): void {
    if (r.status !== 'succeed') throw new Error(`hypervisor set-up: ${what} failed (${r.status} ${r.error}${r.check ? `: ${r.check}` : ''})`);
  }

  read(field: number): number {
    return this.vmx.vmread(field) ?? 0;
  }

  write(field: number, value: number): void {
    this.vmx.apiVmwrite(field, value);
  }

  /** RIP += the exit's instruction length (the handler emulated the instruction). */
  advanceRip(): void {
    this.write(F.GuestRip, (this.read(F.GuestRip) + this.read(F.ExitInstructionLength)) | 0);
  }

  /** Injects a hardware exception at the next entry (SDM 27.6); RIP stays at the faulting instruction. */
  injectException(vector: number, error?: number): ExitAction {
    this.write(F.EntryInterruptionInfo, hardwareException(vector, error !== undefined));
    if (error !== undefined) this.write(F.EntryExceptionErrorCode, error);
    return { resume: true };
  }

  unhandled(message: string): ExitAction {
    return { resume: false, stop: 'unhandled-exit', message };
  }

  /** HLT: with RFLAGS.IF = 0 nothing can wake the vCPU (as on the bare board); else it waits in activity state HLT. */
  halt(): ExitAction {
    if ((this.read(F.GuestRflags) & EFLAGS_IF) === 0) return { resume: false, stop: 'halted', message: 'the guest halted with interrupts disabled' };
    this.write(F.GuestActivityState, ActivityState.Hlt);
    return { resume: true };
  }

  /** External-interrupt exit with acknowledge-on-exit: the vector is the guest's (its devices are the board's 8259/8254). */
  interruptArrived(vector: number): void {
    this.pendingVectors.push(vector & 0xff);
  }

  /**
   * Before each VM entry (SDM 27.6, digest 5.5): inject the oldest pending vector if the guest can take it
   * (IF = 1, no STI/MOV-SS blocking, nothing else being injected), else ask for an interrupt-window exit.
   */
  private prepareInjection(): void {
    if (this.pendingVectors.length === 0) return;
    let proc = this.read(F.ProcControls);
    const entryInfo = this.read(F.EntryInterruptionInfo);
    const blocked = (this.read(F.GuestInterruptibility) & (Interruptibility.Sti | Interruptibility.MovSs)) !== 0;
    if ((entryInfo & IntrInfo.Valid) === 0 && (this.read(F.GuestRflags) & EFLAGS_IF) !== 0 && !blocked) {
      const vector = this.pendingVectors.shift()!;
      this.write(F.EntryInterruptionInfo, (vector | (IntrType.External << 8) | IntrInfo.Valid) | 0);
      this.injections++;
    }
    // Still something to deliver: exit as soon as the guest becomes interruptible (interrupt-window exiting).
    const want = this.pendingVectors.length > 0 ? proc | Proc.InterruptWindowExiting : proc & ~Proc.InterruptWindowExiting;
    if (want !== proc) {
      proc = want;
      this.write(F.ProcControls, proc);
    }
  }

  /** Interrupt-window exit: the guest can take an interrupt now; the next entry injects it. */
  windowOpened(): void {
    this.write(F.ProcControls, this.read(F.ProcControls) & ~Proc.InterruptWindowExiting);
  }

  private tscOffset(): number {
    return this.read(F.TscOffset + 1) * 0x1_0000_0000 + (this.read(F.TscOffset) >>> 0);
  }

  private setTscOffset(offset: number): void {
    const hi = Math.floor(offset / 0x1_0000_0000);
    this.write(F.TscOffset, (offset - hi * 0x1_0000_0000) | 0);
    this.write(F.TscOffset + 1, hi | 0);
    this.write(F.ProcControls, this.read(F.ProcControls) | Proc.TscOffsetting);
  }

  /** MOV to CR0 changing CR0.NE: validate as the CPU would (SDM Vol. 3 2.5), keep NE set, shadow what was written. */
  writeGuestCr0(value: number): boolean {
    if (cr0WriteFaults(value)) return false; // as on the bare CPU
    this.write(F.GuestCr0, value | CR0_NE | 0x10);
    this.write(F.Cr0ReadShadow, value & CR0_NE);
    return true;
  }

  /**
   * INS/OUTS with or without REP against the VM's port bus: elements move between the port and guest memory
   * at seg:ESI / ES:EDI (guest paging walked here), ESI/EDI step by the size in the direction of EFLAGS.DF.
   * At most STRING_IO_CHUNK elements per exit, as KVM does: with ECX left the instruction runs (and exits) again,
   * so a REP with ECX = 0xFFFFFFFF cannot hold the host. Returns 'done', 'again' (RIP stays) or 'fault'.
   */
  emulateStringIo(port: number, size: 1 | 2 | 4, isIn: boolean, rep: boolean): 'done' | 'again' | 'fault' {
    const cpu = this.cpu;
    const seg = isIn ? 0 : (this.read(F.ExitInstructionInfo) >>> 15) & 7;
    const base = this.read(GUEST_SEGMENT_FIELDS[seg].base);
    const flags = this.read(F.GuestRflags);
    const step = (flags & (1 << 10)) !== 0 ? -size : size;
    const reg = isIn ? Reg.EDI : Reg.ESI;
    let count = rep ? cpu.reg32[Reg.ECX] >>> 0 : 1;
    for (let n = 0; count > 0; n++) {
      if (n === STRING_IO_CHUNK) return 'again';
      const gpa = this.guestLinearToPhysical((base + cpu.reg32[reg]) | 0, size);
      if (gpa < 0) return 'fault';
      if (isIn) cpu.memory.write(gpa, size, this.devices.ports.read(port, size));
      else this.devices.ports.write(port, size, cpu.memory.read(gpa, size) >>> 0);
      cpu.reg32[reg] = (cpu.reg32[reg] + step) | 0;
      count--;
      if (rep) cpu.reg32[Reg.ECX] = count;
    }
    return 'done';
  }

  /** Guest-linear to guest-physical through the guest's 32-bit paging (SDM 4.3), or -1 (not present/crossing). */
  private guestLinearToPhysical(lin: number, size: number): number {
    if (((lin & 0xfff) + size) > 0x1000) return -1;
    const cr0 = this.read(F.GuestCr0);
    if ((cr0 & CR0_PG) === 0) return lin >>> 0;
    const mem = this.cpu.memory;
    const pde = mem.read(((this.read(F.GuestCr3) & ~0xfff) | ((lin >>> 22) << 2)) >>> 0, 4);
    if ((pde & 1) === 0) return -1;
    if ((pde & 0x80) !== 0 && (this.read(F.GuestCr4) & 0x10) !== 0) return ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    const pte = mem.read(((pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2)) >>> 0, 4);
    if ((pte & 1) === 0) return -1;
    return ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
  }

  /** Runs the guest until it exits the run (debug-exit), shuts down, halts for good, or `maxCycles` pass. */
  run(maxCycles = Infinity): VmRunResult {
    const cpu = this.cpu;
    const sched = this.scheduler;
    let stop: VmStop | null = null;
    let message: string | undefined;
    while (stop === null) {
      if (this.exited()) {
        stop = 'debug-exit';
        break;
      }
      if (sched.now >= maxCycles) {
        stop = 'max-cycles';
        break;
      }
      if (!this.launched || cpu.nonRoot === false) {
        this.prepareInjection();
        const r = this.launched ? this.vmx.apiVmresume() : this.vmx.apiVmlaunch();
        this.entries++;
        if (r.status === 'entry-failure' || r.status !== 'succeed') {
          stop = 'entry-failure';
          message = `VM entry failed: ${r.status}${r.error ? ` (${r.status === 'entry-failure' ? `exit reason 0x${(r.error >>> 0).toString(16)}` : `error ${r.error}`})` : ''}${r.check ? `: ${r.check}` : ''}`;
          break;
        }
        this.launched = true;
      }
      const why: CpuStop = cpu.run(Math.min(sched.nextDeadline(), maxCycles));
      sched.runDue();
      if (why === 'vmexit') {
        const action = this.dispatch();
        if (!action.resume) {
          stop = action.stop;
          message = action.message;
        }
      } else if (why === 'shutdown') {
        stop = 'shutdown';
        message = cpu.shutdownReason;
      } else if (why === 'halt') {
        // The vCPU waits in activity state HLT: skip to the next event (an interrupt there exits), as the board does.
        const next = sched.nextDeadline();
        if (next === Infinity || !cpu.interruptible()) {
          stop = 'halted';
        } else {
          sched.now = Math.min(next, maxCycles);
          sched.runDue();
        }
      }
    }
    const result: VmRunResult = { stop, message, exits: Object.fromEntries(this.exitCounts), entries: this.entries, handlerCycles: this.handlerCharged };
    if (stop === 'unhandled-exit' || stop === 'entry-failure') {
      result.dump = this.dump();
      if (this.logger.enabled('guest_errors')) this.logger.log('guest_errors', `${message}\n${result.dump}`);
    }
    return result;
  }

  /** One exit through the handler table; an exit with no handler stops the VM (never a silent resume). */
  private dispatch(): ExitAction {
    const reason = this.read(F.ExitReason) & 0xffff;
    const name = EXIT_REASON_NAMES[reason] ?? `REASON_${reason}`;
    this.exitCounts.set(name, (this.exitCounts.get(name) ?? 0) + 1);
    const cycles = handlerCycles(reason);
    this.scheduler.now += cycles;
    this.handlerCharged += cycles;
    const handler = (EXIT_HANDLERS as Record<number, ((vm: Vm) => ExitAction) | null | undefined>)[reason];
    if (handler === null || handler === undefined) {
      return this.unhandled(`unexpected VM exit ${name} (${reason}) at guest RIP 0x${(this.read(F.GuestRip) >>> 0).toString(16)}, qualification 0x${(this.read(F.ExitQualification) >>> 0).toString(16)}`);
    }
    return handler(this);
  }

  /** The guest's state from the VMCS, and the last exit, for a stop message (Bochs-style dump). */
  dump(): string {
    const r = (f: number): string => `0x${(this.read(f) >>> 0).toString(16).padStart(8, '0')}`;
    const g = this.cpu.reg32;
    const h = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
    return [
      `exit reason ${r(F.ExitReason)} qualification ${r(F.ExitQualification)} intr-info ${r(F.ExitInterruptionInfo)} idt-vectoring ${r(F.IdtVectoringInfo)}`,
      `guest RIP ${r(F.GuestRip)} RSP ${r(F.GuestRsp)} RFLAGS ${r(F.GuestRflags)} CR0 ${r(F.GuestCr0)} CR3 ${r(F.GuestCr3)} CR4 ${r(F.GuestCr4)}`,
      `EAX ${h(g[0])} ECX ${h(g[1])} EDX ${h(g[2])} EBX ${h(g[3])} ESI ${h(g[6])} EDI ${h(g[7])} EBP ${h(g[5])}`,
      `CS ${r(F.GuestCsSelector)} ${r(F.GuestCsAr)} SS ${r(F.GuestSsSelector)} ${r(F.GuestSsAr)} GDTR ${r(F.GuestGdtrBase)}/${r(F.GuestGdtrLimit)} IDTR ${r(F.GuestIdtrBase)}/${r(F.GuestIdtrLimit)}`,
    ].join('\n');
  }
}

/** Clears bit n of a VMX bitmap (I/O or MSR, SDM 24.6.4 and 24.6.9: byte n >> 3, bit n & 7): that one passes through. */
function clearBit(mem: PhysicalMemory, base: number, n: number): void {
  const a = base + (n >>> 3);
  mem.write(a, 1, mem.read(a, 1) & ~(1 << (n & 7)));
}
