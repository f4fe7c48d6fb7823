// The PC board: builds RAM, the port bus, the scheduler, the legacy devices at their ports, the local APIC,
// PCI configuration space, and the CPU with its interrupt router. The only place that calls `new` on hardware; running it is run.ts's job.

import { type AccessSize, PortBus, type UnclaimedAccessSink, hex } from '../core/bus.js';
import type { InterruptController } from '../core/irq.js';
import { PhysicalMemory } from '../core/physical-memory.js';
import { Scheduler } from '../core/scheduler.js';
import { type Logger, NULL_LOGGER } from '../core/tracer.js';
import { Cpu, type CpuStop } from '../cpu/cpu.js';
import { DebugCon } from '../devices/debugcon.js';
import { DebugExit } from '../devices/debug-exit.js';
import { DualPic8259 } from '../devices/pic-8259.js';
import { LocalApic } from '../devices/apic/local-apic.js';
import { APIC_MMIO_SIZE } from '../devices/apic/apic-registers.js';
import type { MsrDevice } from '../core/msr-bus.js';
import { type CpuFeatures, LEAF1_ECX_TSC_DEADLINE, LEAF1_ECX_X2APIC, LEAF1_EDX_APIC } from '../cpu/cpuid.js';
import { InterruptRouter } from './interrupt-router.js';
import { PciBus } from '../devices/pci/pci-bus.js';
import { VTD_BASE, VtdUnit } from '../devices/iommu/vtd.js';
import { E1000 } from '../devices/e1000/e1000.js';
import { PciConfigPorts } from '../devices/pci/config-ports.js';
import { PciWindow } from '../devices/pci/pci-window.js';

/** The PCI hole for memory BARs, up to the IOAPIC/HPET/VT-d/APIC range (devices.md 6.1), and the I/O BAR range. */
export const PCI_MMIO_BASE = 0xe0000000;
export const PCI_MMIO_SIZE = 0xfec00000 - PCI_MMIO_BASE;
export const PCI_IO_BASE = 0xc000;
export const PCI_IO_SIZE = 0x4000;

/** The NIC's PCI device number on bus 0. */
export const NIC_PCI_DEVICE = 3;

/** The local APIC's reset base (IA32_APIC_BASE, devices.md 6.4). */
export const LAPIC_BASE = 0xfee00000;
import { Pit8254 } from '../devices/pit-8254.js';
import { Vmx } from '../vmx/vmx-unit.js';
import { PortSink } from '../devices/port-sink.js';
import { Uart16550 } from '../devices/uart-16550.js';
import { type MultibootLoadResult, type MultibootOptions, loadMultiboot } from './multiboot.js';

/** The default RAM size, as QEMU's (128 MiB). */
export const DEFAULT_MEMORY_BYTES = 128 << 20;
/** The nominal CPU clock: one cycle per nanosecond (DESIGN.md "Time"). */
export const DEFAULT_FREQUENCY_HZ = 1_000_000_000;

/** PC I/O ports of the devices on this board (devices.md 6.2). */
export const enum Port {
  PicMaster = 0x20,
  Pit = 0x40,
  Post = 0x80,
  PicSlave = 0xa0,
  DebugCon = 0xe9,
  DebugExit = 0xf4,
  Com1 = 0x3f8,
  BochsShutdown = 0x8900,
  PciConfig = 0xcf8,
}

/** ISA IRQs (devices.md 5, 6.2). */
export const IRQ_PIT = 0;
export const IRQ_COM1 = 4;

/** What the board needs from a CPU (src/cpu/cpu.ts's Cpu; a fake in tests). */
export interface MachineCpu {
  intc: InterruptController | null;
  /** CPUID leaf 1 bits, for the devices the board wires (absent on test fakes). */
  readonly features?: CpuFeatures;
  /** The MSR file, so that the local APIC can answer its MSRs (absent on test fakes). */
  readonly msr?: { attach(device: MsrDevice): void };
  /** The TSC (IA32_TSC_DEADLINE compares against it); absent on test fakes (the cycle clock is used). */
  tsc?(): number;
  /** Ends the current run slice so that a newly pending interrupt is seen at the next boundary. */
  breakLoop?(): void;
  /** EFLAGS; the board reads IF (bit 9) to tell a dead halt from a wait for a timer. */
  readonly flags: number;
  /** Whether a halted CPU can be woken by an interrupt (IF, or a VMX guest's exit controls); default: IF. */
  interruptible?(): boolean;
  readonly instructions: number;
  enterMultibootState(entry: number, mbiAddress: number): void;
  run(untilCycle: number): CpuStop;
  requestStop(): void;
  formatRegisters(): string;
}

export interface CpuDependencies {
  memory: PhysicalMemory;
  ports: PortBus;
  scheduler: Scheduler;
  logger: Logger;
}

export interface MachineConfig {
  memoryBytes?: number;
  frequencyHz?: number;
  /** Receives each byte COM1 transmits (in addition to the machine's own serial log). */
  serial?: (byte: number) => void;
  debugcon?: (byte: number) => void;
  logger?: Logger;
  /** How to build the CPU; the default is the real interpreter. Tests pass fakes. */
  cpuFactory?: (deps: CpuDependencies) => MachineCpu;
  /** Upper bound on the serial text kept in memory (the streaming sink still sees every byte). */
  serialLogLimit?: number;
}

const DEFAULT_SERIAL_LOG_LIMIT = 16 << 20;

/** Logs accesses nobody answers as QEMU-style guest_errors lines. */
class UnclaimedLogger implements UnclaimedAccessSink {
  constructor(private readonly logger: Logger) {}
  unclaimed(space: 'port' | 'mmio', address: number, size: AccessSize, write: boolean, value: number): void {
    const what = write ? `write of ${hex(value, size * 2)}` : 'read';
    this.logger.log('guest_errors', `unassigned ${space} ${what} at ${hex(address)} (size ${size})`);
  }
}

export class Machine {
  readonly memory: PhysicalMemory;
  readonly ports = new PortBus();
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly pic = new DualPic8259();
  readonly lapic: LocalApic;
  /** The VT-d unit: translation off after reset (identity DMA); registers at VTD_BASE. */
  readonly iommu: VtdUnit;
  /** The NIC; its wire is free until a link peer is attached (machine/network.ts). */
  readonly nic: E1000;
  /** PCI bus 0 with the q35 host bridge at 00:00.0 (devices are attached by later milestones). */
  readonly pci = new PciBus();
  /** What the CPU's INTR listens to: the APIC, with the 8259s passed through. */
  readonly intc: InterruptController;
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly debugExit: DebugExit;
  readonly debugCon: DebugCon;
  readonly post = new PortSink('post', 1);
  readonly bochsShutdown = new PortSink('bochs-shutdown', 1);
  readonly cpu: MachineCpu;
  /** The CPU's VMX unit (null with a fake CPU from cpuFactory). */
  readonly vmx: Vmx | null;
  /** The value the guest wrote to isa-debug-exit, or null. */
  exitValue: number | null = null;
  private serialChunks: string[] = [];
  private serialPending = '';
  private serialBytes = 0;
  private readonly serialLogLimit: number;
  private readonly serialSink: ((byte: number) => void) | undefined;

  constructor(config: MachineConfig = {}) {
    this.memory = new PhysicalMemory(config.memoryBytes ?? DEFAULT_MEMORY_BYTES);
    this.scheduler = new Scheduler(config.frequencyHz ?? DEFAULT_FREQUENCY_HZ);
    this.logger = config.logger ?? NULL_LOGGER;
    this.serialLogLimit = config.serialLogLimit ?? DEFAULT_SERIAL_LOG_LIMIT;
    this.serialSink = config.serial;
    this.uart = new Uart16550({
      name: 'com1',
      irq: this.pic.line(IRQ_COM1),
      sink: (byte) => this.serialOut(byte),
    });
    this.pit = new Pit8254(this.scheduler, this.pic.line(IRQ_PIT));
    this.debugExit = new DebugExit((value) => this.onDebugExit(value));
    this.debugCon = new DebugCon(config.debugcon ?? (() => {}));

    const ports = this.ports;
    ports.map(Port.PicMaster, 2, this.pic.master);
    ports.map(Port.PicSlave, 2, this.pic.slave);
    ports.map(Port.Pit, 4, this.pit);
    ports.map(Port.Post, 1, this.post);
    ports.map(Port.DebugCon, 1, this.debugCon);
    ports.map(Port.DebugExit, 4, this.debugExit);
    ports.map(Port.Com1, 8, this.uart);
    ports.map(Port.BochsShutdown, 1, this.bochsShutdown);
    ports.map(Port.PciConfig, 8, new PciConfigPorts(this.pci));
    if (this.logger.enabled('guest_errors')) {
      const sink = new UnclaimedLogger(this.logger);
      ports.sink = sink;
      this.memory.sink = sink;
    }

    const deps: CpuDependencies = { memory: this.memory, ports, scheduler: this.scheduler, logger: this.logger };
    const cpu = config.cpuFactory ? config.cpuFactory(deps) : new Cpu(deps);
    this.cpu = cpu;
    // The processor has VMX (CPUID.1:ECX.VMX, the IA32_VMX_* MSRs, the VMX instructions).
    this.vmx = cpu instanceof Cpu ? Vmx.install(cpu) : null;

    // The local APIC: xAPIC page at its reset base, x2APIC and TSC-deadline MSRs, and the router that
    // passes the 8259s through while the APIC allows it. CPUID reports what is wired.
    this.lapic = new LocalApic({
      scheduler: this.scheduler,
      tsc: cpu.tsc ? () => cpu.tsc!() : undefined,
      onInterruptPending: () => cpu.breakLoop?.(),
      onBaseChange: (base) => {
        if (base >>> 0 !== LAPIC_BASE && this.logger.enabled('unimp')) {
          this.logger.log('unimp', `local APIC moved to ${base.toString(16)}: not remapped`);
        }
      },
    });
    this.memory.mapMmio(LAPIC_BASE, APIC_MMIO_SIZE, this.lapic);
    cpu.msr?.attach(this.lapic);
    if (cpu.features) {
      cpu.features.leaf1Edx |= LEAF1_EDX_APIC;
      cpu.features.leaf1Ecx |= LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE;
    }
    this.intc = new InterruptRouter(this.lapic, this.pic);
    cpu.intc = this.intc;

    // PCI memory BARs decode in the PCI hole (devices.md 6.1), I/O BARs in 0xC000-0xFFFF: one fixed window
    // each that forwards to whichever BAR is live there (a guest's overlapping BARs cannot break the board).
    this.memory.mapMmio(PCI_MMIO_BASE, PCI_MMIO_SIZE, new PciWindow(this.pci.memoryDecode, PCI_MMIO_BASE, PCI_MMIO_SIZE));
    ports.map(PCI_IO_BASE, PCI_IO_SIZE, new PciWindow(this.pci.ioDecode, PCI_IO_BASE, PCI_IO_SIZE));

    // The VT-d remapping unit (QEMU q35's address): the DMA space of assigned devices; MSIs end at the APIC.
    this.iommu = new VtdUnit(this.memory, this.lapic);
    this.memory.mapMmio(VTD_BASE, 0x1000, this.iommu.registers);

    // The e1000 at 00:03.0 (requester ID 0x0018, QEMU's default slot): DMA and MSIs through the VT-d unit.
    this.nic = new E1000({ scheduler: this.scheduler, dma: this.iommu });
    this.pci.attach(this.nic.pci, NIC_PCI_DEVICE);
  }

  /** Loads a multiboot kernel and puts the CPU in the multiboot entry state. */
  loadMultiboot(image: Uint8Array, options: MultibootOptions = {}): MultibootLoadResult {
    const result = loadMultiboot(image, this.memory, options);
    if (result.ok) this.cpu.enterMultibootState(result.entry, result.mbiAddress);
    return result;
  }

  /** Everything COM1 has transmitted so far, as a latin1 string (capped at serialLogLimit bytes). */
  serialText(): string {
    if (this.serialPending.length > 0) {
      this.serialChunks.push(this.serialPending);
      this.serialPending = '';
    }
    if (this.serialChunks.length > 1) this.serialChunks = [this.serialChunks.join('')];
    return this.serialChunks[0] ?? '';
  }

  /**
   * A byte leaves the serial port the user sees: the board's COM1, or a VM's emulated COM1 (hypervisor/), so that
   * a guest prints the same under a hypervisor as on the bare board.
   */
  serialOut(byte: number): void {
    this.recordSerial(byte);
    this.serialSink?.(byte);
  }

  /** The run ends with this isa-debug-exit value (the board's port, or a VM's emulated one). */
  debugExitWritten(value: number): void {
    this.onDebugExit(value);
  }

  private recordSerial(byte: number): void {
    if (this.serialBytes >= this.serialLogLimit) return;
    this.serialBytes++;
    this.serialPending += String.fromCharCode(byte);
    if (this.serialPending.length >= 4096) {
      this.serialChunks.push(this.serialPending);
      this.serialPending = '';
    }
  }

  private onDebugExit(value: number): void {
    if (this.exitValue === null) this.exitValue = value;
    this.cpu.requestStop();
  }
}
