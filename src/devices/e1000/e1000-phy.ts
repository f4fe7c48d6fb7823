// Owns the minimal PHY behind MDIC (devices.md 1.10): PHY address 1, a few M88E1011-style registers, accesses that
// complete at once. Leaves MDIC storage and the MDAC interrupt cause to e1000.ts.

import { Mdic } from './e1000-regs.js';

/** PHY registers (IEEE 802.3 clause 22 plus the Marvell-specific ones QEMU models). */
export const enum PhyReg {
  BMCR = 0x00,
  BMSR = 0x01,
  PHYID1 = 0x02,
  PHYID2 = 0x03,
  ANAR = 0x04,
  ANLPAR = 0x05,
  ANER = 0x06,
  GBCR = 0x09,
  GBSR = 0x0a,
  SPEC_CTRL = 0x10,
  SPEC_STATUS = 0x11,
  EXT_SPEC_CTRL = 0x14,
}

const BMCR_RESTART_AUTONEG = 1 << 9;
const BMCR_RESET = 1 << 15;
/** The only PHY address that answers (QEMU). */
export const PHY_ADDRESS = 1;

/** Reset values (QEMU's phy_reg_init, link up and autonegotiation complete). */
const PHY_RESET: readonly (readonly [PhyReg, number])[] = [
  [PhyReg.BMCR, 0x1140],
  [PhyReg.BMSR, 0x796d],
  [PhyReg.PHYID1, 0x0141],
  [PhyReg.PHYID2, 0x0c20],
  [PhyReg.ANAR, 0x0de1],
  [PhyReg.ANLPAR, 0x41e0],
  [PhyReg.ANER, 0x0001],
  [PhyReg.GBCR, 0x0e00],
  [PhyReg.GBSR, 0x3c00],
  [PhyReg.SPEC_CTRL, 0x0360],
  [PhyReg.SPEC_STATUS, 0xac00],
  [PhyReg.EXT_SPEC_CTRL, 0x0d60],
];

/** Registers software may write; the rest are read-only (writes ignored, still "complete"). */
const PHY_WRITABLE = new Set<number>([PhyReg.BMCR, PhyReg.ANAR, PhyReg.GBCR, PhyReg.SPEC_CTRL, PhyReg.EXT_SPEC_CTRL]);

export class E1000Phy {
  readonly regs = new Uint16Array(32);
  private readonly writable = new Uint8Array(32);

  constructor() {
    for (const r of PHY_WRITABLE) this.writable[r] = 1;
    this.reset();
  }

  reset(): void {
    this.regs.fill(0);
    for (const [r, v] of PHY_RESET) this.regs[r] = v;
  }

  /**
   * One MDIC command; returns the new MDIC value (READY set, DATA filled on a read, ERROR for another PHY
   * address or an undefined opcode). Autonegotiation completes at once: the link never drops here.
   */
  command(mdic: number): number {
    const data = mdic & 0xffff;
    const reg = (mdic >>> Mdic.REGADD_SHIFT) & 0x1f;
    const phy = (mdic >>> Mdic.PHYADD_SHIFT) & 0x1f;
    const op = (mdic >>> Mdic.OP_SHIFT) & 3;
    const kept = (mdic & ~(0xffff | Mdic.READY | Mdic.ERROR)) >>> 0;
    if (phy !== PHY_ADDRESS || (op !== Mdic.OP_READ && op !== Mdic.OP_WRITE)) {
      return (kept | data | Mdic.READY | Mdic.ERROR) >>> 0;
    }
    if (op === Mdic.OP_READ) return (kept | this.regs[reg] | Mdic.READY) >>> 0;
    if (this.writable[reg] !== 0) {
      if (reg === PhyReg.BMCR) {
        if ((data & BMCR_RESET) !== 0) this.reset();
        else this.regs[reg] = data & ~(BMCR_RESTART_AUTONEG | BMCR_RESET);
      } else {
        this.regs[reg] = data;
      }
    }
    return (kept | data | Mdic.READY) >>> 0;
  }
}
