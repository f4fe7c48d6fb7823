// Owns the 82540EM register facts as data (devices.md 1.2-1.6): BAR0 offsets, bit definitions, write masks,
// reset values, descriptor layouts and units. Leaves applying them to e1000.ts and the tx/rx/interrupt units.

/** BAR0 is 128 KiB of 32-bit registers; the register file is indexed by offset >> 2 (devices.md 1.2). */
export const E1000_MMIO_SIZE = 0x20000;
export const E1000_REG_COUNT = E1000_MMIO_SIZE >>> 2;
/** BAR1: the IOADDR/IODATA indirect window (devices.md 1.1). */
export const E1000_IO_SIZE = 0x40;

/** BAR0 register offsets (devices.md 1.2; 8254x SDM section 13.4). */
export const enum E1000Reg {
  CTRL = 0x0000,
  CTRL_DUP = 0x0004,
  STATUS = 0x0008,
  EECD = 0x0010,
  EERD = 0x0014,
  CTRL_EXT = 0x0018,
  FLA = 0x001c,
  MDIC = 0x0020,
  FCAL = 0x0028,
  FCAH = 0x002c,
  FCT = 0x0030,
  VET = 0x0038,
  ICR = 0x00c0,
  ITR = 0x00c4,
  ICS = 0x00c8,
  IMS = 0x00d0,
  IMC = 0x00d8,
  RCTL = 0x0100,
  FCTTV = 0x0170,
  TXCW = 0x0178,
  RXCW = 0x0180,
  TCTL = 0x0400,
  TIPG = 0x0410,
  AIT = 0x0458,
  LEDCTL = 0x0e00,
  PBA = 0x1000,
  FCRTL = 0x2160,
  FCRTH = 0x2168,
  RDBAL = 0x2800,
  RDBAH = 0x2804,
  RDLEN = 0x2808,
  RDH = 0x2810,
  RDT = 0x2818,
  RDTR = 0x2820,
  RXDCTL = 0x2828,
  RADV = 0x282c,
  RSRPD = 0x2c00,
  TDBAL = 0x3800,
  TDBAH = 0x3804,
  TDLEN = 0x3808,
  TDH = 0x3810,
  TDT = 0x3818,
  TIDV = 0x3820,
  TXDCTL = 0x3828,
  TADV = 0x382c,
  // Statistics (devices.md 1.2.1): all read-to-clear.
  STATS_FIRST = 0x4000,
  MPC = 0x4010,
  ROC = 0x40ac,
  PRC64 = 0x405c,
  GPRC = 0x4074,
  BPRC = 0x4078,
  MPRC = 0x407c,
  GPTC = 0x4080,
  GORCL = 0x4088,
  GORCH = 0x408c,
  GOTCL = 0x4090,
  GOTCH = 0x4094,
  RNBC = 0x40a0,
  TORL = 0x40c0,
  TORH = 0x40c4,
  TOTL = 0x40c8,
  TOTH = 0x40cc,
  TPR = 0x40d0,
  TPT = 0x40d4,
  PTC64 = 0x40d8,
  MPTC = 0x40f0,
  BPTC = 0x40f4,
  IAC = 0x4100,
  STATS_LAST = 0x4100,
  RXCSUM = 0x5000,
  MTA = 0x5200,
  RAL0 = 0x5400,
  RAH0 = 0x5404,
  VFTA = 0x5600,
  WUC = 0x5800,
  WUFC = 0x5808,
  WUS = 0x5810,
  MANC = 0x5820,
}

export const MTA_ENTRIES = 128;
export const RA_PAIRS = 16;
export const VFTA_ENTRIES = 128;

/** CTRL bits (devices.md 1.3.1). */
export const enum Ctrl {
  FD = 1 << 0,
  LRST = 1 << 3,
  ASDE = 1 << 5,
  SLU = 1 << 6,
  SPEED_1000 = 2 << 8,
  SWDPIN0 = 1 << 18,
  SWDPIN2 = 1 << 20,
  RST = 1 << 26,
  VME = 1 << 30,
  PHY_RST = 1 << 31,
}

/** STATUS bits (devices.md 1.3.2). */
export const enum Status {
  FD = 1 << 0,
  LU = 1 << 1,
  SPEED_1000 = 2 << 6,
}

/** RCTL bits (devices.md 1.3.3). */
export const enum Rctl {
  EN = 1 << 1,
  SBP = 1 << 2,
  UPE = 1 << 3,
  MPE = 1 << 4,
  LPE = 1 << 5,
  RDMTS_SHIFT = 8,
  MO_SHIFT = 12,
  BAM = 1 << 15,
  BSIZE_SHIFT = 16,
  VFE = 1 << 18,
  BSEX = 1 << 25,
  SECRC = 1 << 26,
}

/** TCTL bits (devices.md 1.3.4). */
export const enum Tctl {
  EN = 1 << 1,
  PSP = 1 << 3,
}

/** Interrupt causes: ICR, ICS, IMS and IMC share the layout (devices.md 1.4). */
export const enum Icr {
  TXDW = 1 << 0,
  TXQE = 1 << 1,
  LSC = 1 << 2,
  RXSEQ = 1 << 3,
  RXDMT0 = 1 << 4,
  RXO = 1 << 6,
  RXT0 = 1 << 7,
  MDAC = 1 << 9,
  RXCFG = 1 << 10,
  TXD_LOW = 1 << 15,
  SRPD = 1 << 16,
}

/**
 * The cause bits the 82540EM defines (bits 0-4, 6-7, 9-16). Bit 31 INT_ASSERTED, and with it the IMS
 * auto-mask on an ICR read, belong to the 82571 and later parts (devices.md 1.4): it stays 0 here.
 */
export const ICR_VALID = 0x0001_fedf;

/** EECD bits (devices.md 1.9). */
export const enum Eecd {
  SK = 1 << 0,
  CS = 1 << 1,
  DI = 1 << 2,
  DO = 1 << 3,
  REQ = 1 << 6,
  GNT = 1 << 7,
  PRES = 1 << 8,
}

/** EERD fields, 82540 layout (devices.md 1.9). */
export const enum Eerd {
  START = 1 << 0,
  DONE = 1 << 4,
  ADDR_SHIFT = 8,
  DATA_SHIFT = 16,
}

/** MDIC fields (devices.md 1.10). */
export const enum Mdic {
  REGADD_SHIFT = 16,
  PHYADD_SHIFT = 21,
  OP_SHIFT = 26,
  OP_WRITE = 1,
  OP_READ = 2,
  READY = 1 << 28,
  INT = 1 << 29,
  ERROR = 1 << 30,
}

/** RAH: AV bit 31, AS bits 17:16, address bytes 4-5 in 15:0 (devices.md 1.8). */
export const RAH_AV = 0x8000_0000;
export const RAH_WRITABLE = 0x8003_ffff;

/** Legacy descriptors are 16 bytes; rings are multiples of 128 bytes (devices.md 1.6, 1.2). */
export const DESCRIPTOR_SIZE = 16;
/** RDLEN/TDLEN: bits 19:7 (devices.md 1.2). */
export const RING_LEN_MASK = 0x000f_ff80;
/** RDBAL/TDBAL bits 3:0 are ignored and read 0: descriptor rings are 16-byte aligned. */
export const RING_BASE_LOW_MASK = 0xffff_fff0;
/** Heads and tails are 16 bits. */
export const RING_INDEX_MASK = 0xffff;
/** ITR, RDTR, RADV, TIDV, TADV: a 16-bit count (QEMU masks the writes to 16 bits; devices.md 1.3.5). */
export const DELAY_MASK = 0xffff;
/** RDTR bit 31 FPD: flush partial descriptor block, i.e. expire the packet timer now. */
export const RDTR_FPD = 0x8000_0000;

/** Legacy TX descriptor CMD (dword2 bits 31:24) and STA (dword3 bits 7:0) bits (devices.md 1.6.2). */
export const enum TxCmd {
  EOP = 1 << 0,
  IFCS = 1 << 1,
  IC = 1 << 2,
  RS = 1 << 3,
  RPS = 1 << 4,
  DEXT = 1 << 5,
  VLE = 1 << 6,
  IDE = 1 << 7,
}
export const TX_STA_DD = 1 << 0;
/** Extended (DEXT=1) descriptors: DTYP in dword2 bits 23:20; 0 = context, 1 = data; length in bits 19:0. */
export const TX_DTYP_SHIFT = 20;
export const TX_DTYP_DATA = 1;

/** Legacy RX descriptor status and error bits (devices.md 1.6.1). */
export const enum RxStatus {
  DD = 1 << 0,
  EOP = 1 << 1,
  IXSM = 1 << 2,
}

/** Units of the delay registers (devices.md 1.3.5): ITR counts 256 ns, the others 1.024 us. */
export const ITR_UNIT_NS = 256;
export const DELAY_UNIT_NS = 1024;

/** Largest frame the transmit assembly keeps (82540 jumbo limit, 16 KiB); longer chains are dropped. */
export const TX_MAX_FRAME = 16384;
/** Receive size limits without FCS (devices.md 1.8): 1518 normally, 16380 with RCTL.LPE. */
export const RX_MAX_FRAME = 1518;
export const RX_MAX_LONG_FRAME = 16380;
export const ETH_FCS_BYTES = 4;

/** Reset values (devices.md 1.3.1, 1.3.2, 1.2; QEMU's): link up at 1000 Mb/s full duplex. */
export const CTRL_RESET = Ctrl.SLU | Ctrl.SPEED_1000 | Ctrl.SWDPIN0 | Ctrl.SWDPIN2; // 0x00140240
export const STATUS_RESET = 0x8008_0783;
export const RESET_VALUES: readonly (readonly [E1000Reg, number])[] = [
  [E1000Reg.CTRL, CTRL_RESET],
  [E1000Reg.STATUS, STATUS_RESET],
  [E1000Reg.EECD, Eecd.GNT | Eecd.PRES],
  [E1000Reg.MDIC, Mdic.READY],
  [E1000Reg.VET, 0x8100],
  [E1000Reg.LEDCTL, 0x0000_0602],
  [E1000Reg.PBA, 0x0010_0030],
  [E1000Reg.MANC, 0x0022_2300],
];

/**
 * Registers that only store what is written (with a mask of the bits that exist). Everything not listed here,
 * not a statistic and not given a handler by e1000.ts reads 0 and ignores writes (counted as unknown).
 */
export const STORE_REGISTERS: readonly (readonly [E1000Reg, number])[] = [
  [E1000Reg.CTRL_EXT, 0xffff_ffff],
  [E1000Reg.FCAL, 0xffff_ffff],
  [E1000Reg.FCAH, 0x0000_ffff],
  [E1000Reg.FCT, 0x0000_ffff],
  [E1000Reg.VET, 0x0000_ffff],
  [E1000Reg.FCTTV, 0x0000_ffff],
  [E1000Reg.TXCW, 0xffff_ffff],
  [E1000Reg.TIPG, 0x3fff_ffff],
  [E1000Reg.AIT, 0x0000_ffff],
  [E1000Reg.LEDCTL, 0xffff_ffff],
  [E1000Reg.PBA, 0xffff_ffff],
  [E1000Reg.FCRTL, 0x8000_fff8],
  [E1000Reg.FCRTH, 0x0000_fff8],
  [E1000Reg.RDBAL, RING_BASE_LOW_MASK],
  [E1000Reg.RDBAH, 0xffff_ffff],
  [E1000Reg.RXDCTL, 0xffff_ffff],
  [E1000Reg.RSRPD, 0x0000_0fff],
  [E1000Reg.TDBAL, RING_BASE_LOW_MASK],
  [E1000Reg.TDBAH, 0xffff_ffff],
  [E1000Reg.TXDCTL, 0xffff_ffff],
  [E1000Reg.RXCSUM, 0x0000_07ff],
  [E1000Reg.WUC, 0xffff_ffff],
  [E1000Reg.WUFC, 0xffff_ffff],
  [E1000Reg.WUS, 0xffff_ffff],
  [E1000Reg.MANC, 0xffff_ffff],
];

/** 64-bit statistics: the high half's offset; reading it clears both halves (QEMU, devices.md 1.2.1). */
export const STATS_64_HIGH: readonly E1000Reg[] = [E1000Reg.GORCH, E1000Reg.GOTCH, E1000Reg.TORH, E1000Reg.TOTH];

/** Register index (offset >> 2) of a register. */
export function regIndex(offset: E1000Reg): number {
  return offset >>> 2;
}
