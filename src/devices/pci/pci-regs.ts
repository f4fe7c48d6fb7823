// Owns PCI facts as data (devices.md 2): header offsets, command/status bits and masks, BAR type bits, capability
// IDs, CONFIG_ADDRESS fields. Leaves applying them to pci-function.ts and config-ports.ts.

/** Conventional (non-PCIe) configuration space of one function, in bytes. */
export const PCI_CONFIG_SPACE_SIZE = 0x100;
/** The predefined type-0 header; capabilities live in [0x40, 0x100) (devices.md 2.4). */
export const PCI_HEADER_SIZE = 0x40;
export const PCI_BAR_COUNT = 6;

/** Type-0 header offsets (devices.md 2.2; PCI Local Bus 3.0 section 6.1). */
export const enum PciCfg {
  VendorId = 0x00,
  DeviceId = 0x02,
  Command = 0x04,
  Status = 0x06,
  RevisionId = 0x08,
  ProgIf = 0x09,
  Subclass = 0x0a,
  BaseClass = 0x0b,
  CacheLineSize = 0x0c,
  LatencyTimer = 0x0d,
  HeaderType = 0x0e,
  Bist = 0x0f,
  Bar0 = 0x10,
  CardbusCis = 0x28,
  SubsystemVendorId = 0x2c,
  SubsystemId = 0x2e,
  ExpansionRom = 0x30,
  CapabilitiesPointer = 0x34,
  InterruptLine = 0x3c,
  InterruptPin = 0x3d,
  MinGnt = 0x3e,
  MaxLat = 0x3f,
}

/** Command register bits (devices.md 2.2). */
export const enum PciCommand {
  IoSpace = 1 << 0,
  MemorySpace = 1 << 1,
  BusMaster = 1 << 2,
  SpecialCycles = 1 << 3,
  MemoryWriteInvalidate = 1 << 4,
  VgaPaletteSnoop = 1 << 5,
  ParityErrorResponse = 1 << 6,
  Serr = 1 << 8,
  FastBackToBack = 1 << 9,
  IntxDisable = 1 << 10,
}

/** Status register bits (devices.md 2.2). */
export const enum PciStatus {
  InterruptStatus = 1 << 3,
  CapabilitiesList = 1 << 4,
  MasterDataParityError = 1 << 8,
  SignaledTargetAbort = 1 << 11,
  ReceivedTargetAbort = 1 << 12,
  ReceivedMasterAbort = 1 << 13,
  SignaledSystemError = 1 << 14,
  DetectedParityError = 1 << 15,
}

/**
 * Command bits software can change. As QEMU's pci_init_wmask: I/O, memory, bus master, parity error
 * response, SERR# and INTx disable; special cycles, MWI, VGA snoop and fast back-to-back are hardwired 0.
 */
export const COMMAND_WRITABLE =
  PciCommand.IoSpace |
  PciCommand.MemorySpace |
  PciCommand.BusMaster |
  PciCommand.ParityErrorResponse |
  PciCommand.Serr |
  PciCommand.IntxDisable;

/** Status bits that are write-one-to-clear: the error bits 15:11 and 8; all others are read-only. */
export const STATUS_RW1C =
  PciStatus.MasterDataParityError |
  PciStatus.SignaledTargetAbort |
  PciStatus.ReceivedTargetAbort |
  PciStatus.ReceivedMasterAbort |
  PciStatus.SignaledSystemError |
  PciStatus.DetectedParityError;

/** Header type byte: bit 7 = multi-function device; bits 6:0 = layout (0 for a type-0 header). */
export const HEADER_TYPE_MULTI_FUNCTION = 0x80;

/** BAR low bits (devices.md 2.3). */
export const BAR_SPACE_IO = 0x1;
export const BAR_MEM_PREFETCHABLE = 0x8;
export const BAR_MEM_ADDRESS_MASK = 0xfffffff0;
export const BAR_IO_ADDRESS_MASK = 0xfffffffc;

/** Capability IDs (devices.md 2.4). */
export const enum PciCapId {
  PowerManagement = 0x01,
  Msi = 0x05,
  VendorSpecific = 0x09,
  PciExpress = 0x10,
  MsiX = 0x11,
}

/** Interrupt pin register values (devices.md 2.2). */
export const enum PciInterruptPin {
  None = 0,
  IntA = 1,
  IntB = 2,
  IntC = 3,
  IntD = 4,
}

/**
 * The writable and RW1C masks of the type-0 header outside the BARs, as [offset, size, writable, rw1c].
 * BARs are added per function (their writable bits depend on the size); everything not listed is read-only.
 */
export const HEADER_MASKS: readonly (readonly [number, 1 | 2 | 4, number, number])[] = [
  [PciCfg.Command, 2, COMMAND_WRITABLE, 0],
  [PciCfg.Status, 2, 0, STATUS_RW1C],
  [PciCfg.CacheLineSize, 1, 0xff, 0], // scratch for the firmware (QEMU e1000: 0x10 written)
  [PciCfg.LatencyTimer, 1, 0xff, 0],
  [PciCfg.InterruptLine, 1, 0xff, 0], // scratch: the IRQ the firmware routed
];

/** Configuration mechanism #1 (devices.md 2.1). */
export const CONFIG_ADDRESS_PORT = 0xcf8;
export const CONFIG_DATA_PORT = 0xcfc;
export const CONFIG_ENABLE = 0x8000_0000;
/**
 * CONFIG_ADDRESS bits that latch: enable (31), bus (23:16), device (15:11), function (10:8), register
 * (7:2). Reserved bits 30:24 and 1:0 read 0 (QEMU keeps them; a guest never relies on either).
 */
export const CONFIG_ADDRESS_MASK = 0x80ff_fffc;

/** Requester ID / source ID (devices.md 2.5): bus << 8 | device << 3 | function. */
export function requesterId(bus: number, device: number, fn: number): number {
  return ((bus & 0xff) << 8) | ((device & 0x1f) << 3) | (fn & 7);
}

/** "bb:dd.f", as lspci prints a function's address. */
export function bdfName(bus: number, device: number, fn: number): string {
  const h2 = (n: number) => n.toString(16).padStart(2, '0');
  return `${h2(bus)}:${h2(device)}.${fn}`;
}
