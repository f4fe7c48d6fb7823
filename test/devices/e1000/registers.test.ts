// e1000 register semantics from devices.md 1.2-1.10 and the 8254x SDM: reset values, ICR/ICS/IMS/IMC, EEPROM (EERD and
// Microwire), MDIC, RAL/RAH, masks, statistics, CTRL.RST, odd accesses, BAR1, PCI identity, and the BusDevice contract.

import { describe, expect, it } from 'vitest';
import type { AccessSize, BusDevice } from '../../../src/core/bus.js';
import { type ContractSubject, checkBusDeviceContract } from '../contract.js';
import { E1000Fixture, ICR, OUR_MAC, RAH_AV, REG } from './fixture.js';

describe('e1000 reset values (devices.md 1.3)', () => {
  it('has CTRL 00140240, STATUS 80080783 (link up, FD, 1000 Mb/s), EECD PRES|GNT, MDIC ready', () => {
    const f = new E1000Fixture();
    expect(f.r32(REG.CTRL)).toBe(0x00140240);
    expect(f.r32(REG.STATUS)).toBe(0x80080783);
    expect(f.r32(REG.STATUS) & 0x2).toBe(0x2); // LU
    expect((f.r32(REG.STATUS) >>> 6) & 3).toBe(2); // 1000 Mb/s
    expect(f.r32(REG.EECD) & 0x180).toBe(0x180);
    expect(f.r32(REG.MDIC) & (1 << 28)).not.toBe(0);
    expect(f.r32(REG.VET)).toBe(0x8100);
    expect(f.r32(REG.ICR)).toBe(0);
    expect(f.r32(REG.IMS)).toBe(0);
  });

  it('loads RAL0/RAH0 with the MAC and AV; other pairs are 0', () => {
    const f = new E1000Fixture();
    expect(f.r32(REG.RAL0)).toBe(0x12005452);
    expect(f.r32(REG.RAH0)).toBe((RAH_AV | 0x5634) >>> 0);
    for (let n = 1; n < 16; n++) {
      expect(f.r32(REG.RAL0 + 8 * n)).toBe(0);
      expect(f.r32(REG.RAH0 + 8 * n)).toBe(0);
    }
  });
});

describe('interrupt registers (devices.md 1.5.1)', () => {
  it('ICR read returns the causes and clears all of them; peek does not clear', () => {
    const f = new E1000Fixture();
    f.w32(REG.ICS, ICR.TXDW | ICR.RXT0 | ICR.LSC);
    expect(f.nic.peek(REG.ICR, 4)).toBe(0x85);
    expect(f.nic.peek(REG.ICR, 4)).toBe(0x85);
    expect(f.nic.peek(REG.ICR, 1)).toBe(0x85);
    expect(f.r32(REG.ICR)).toBe(0x85);
    expect(f.r32(REG.ICR)).toBe(0);
  });

  it('records causes whether or not they are masked; keeps INT_ASSERTED (bit 31) at 0 on the 82540', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMC, 0xffffffff);
    f.w32(REG.ICS, 0xffffffff);
    const icr = f.r32(REG.ICR);
    expect(icr & 0x80).toBe(0x80);
    expect(icr & 0x80000000).toBe(0);
    expect(icr & 0x20).toBe(0); // bit 5 reserved
  });

  it('ICR write of 1s clears those causes (QEMU)', () => {
    const f = new E1000Fixture();
    f.w32(REG.ICS, 0x87);
    f.w32(REG.ICR, 0x03);
    expect(f.nic.peek(REG.ICR, 4)).toBe(0x84);
  });

  it('ICS reads return ICR without clearing it', () => {
    const f = new E1000Fixture();
    f.w32(REG.ICS, ICR.RXO);
    expect(f.r32(REG.ICS)).toBe(ICR.RXO);
    expect(f.r32(REG.ICR)).toBe(ICR.RXO);
  });

  it('IMS sets mask bits, IMC clears them, IMS reads the mask, IMC reads 0; reading ICR leaves IMS alone', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMS, 0x9d);
    f.w32(REG.IMS, 0x02);
    expect(f.r32(REG.IMS)).toBe(0x9f);
    f.w32(REG.IMC, 0x05);
    expect(f.r32(REG.IMS)).toBe(0x9a);
    expect(f.r32(REG.IMC)).toBe(0);
    f.w32(REG.ICS, 0x80);
    f.r32(REG.ICR);
    expect(f.r32(REG.IMS)).toBe(0x9a);
  });
});

describe('EEPROM (devices.md 1.9)', () => {
  function eerd(f: E1000Fixture, word: number): number {
    f.w32(REG.EERD, (word << 8) | 1);
    const v = f.r32(REG.EERD);
    expect(v & 0x10).toBe(0x10); // DONE
    expect(v & 1).toBe(0); // START reads 0
    return v >>> 16;
  }

  it('EERD words 0-2 are the MAC, words 0x0B/0x0D the device ID, and the 64 words sum to 0xBABA', () => {
    const f = new E1000Fixture();
    expect(eerd(f, 0)).toBe(0x5452);
    expect(eerd(f, 1)).toBe(0x1200);
    expect(eerd(f, 2)).toBe(0x5634);
    expect(eerd(f, 0x0d)).toBe(0x100e);
    expect(eerd(f, 0x0e)).toBe(0x8086);
    let sum = 0;
    for (let w = 0; w < 64; w++) sum += eerd(f, w);
    expect(sum & 0xffff).toBe(0xbaba);
  });

  it('uses a configured MAC in the EEPROM and RAL0/RAH0', async () => {
    const { E1000 } = await import('../../../src/devices/e1000/e1000.js');
    const f = new E1000Fixture();
    const nic = new E1000({ scheduler: f.scheduler, dma: f.dma, mac: '02:aa:bb:cc:dd:ee' });
    nic.write(REG.EERD, 4, (1 << 8) | 1);
    expect(nic.read(REG.EERD, 4) >>> 16).toBe(0xccbb);
    expect(nic.read(REG.RAH0, 4)).toBe((RAH_AV | 0xeedd) >>> 0);
    let sum = 0;
    for (let w = 0; w < 64; w++) sum += nic.eeprom.words[w];
    expect(sum & 0xffff).toBe(0xbaba);
    expect(() => new E1000({ scheduler: f.scheduler, dma: f.dma, mac: 'nope' })).toThrow(RangeError);
  });

  it('EERD beyond word 0x3F completes with DATA 0', () => {
    const f = new E1000Fixture();
    expect(eerd(f, 0x40)).toBe(0);
    expect(eerd(f, 0xff)).toBe(0);
  });

  it('reads a word through the EECD Microwire bit-bang (opcode 110b, 6 address bits, 16 data bits MSB first)', () => {
    const f = new E1000Fixture();
    const SK = 1;
    const CS = 2;
    const DI = 4;
    const DO = 8;
    const clockOut = (bit: number): void => {
      const d = bit ? DI : 0;
      f.w32(REG.EECD, CS | d);
      f.w32(REG.EECD, CS | d | SK);
      f.w32(REG.EECD, CS | d);
    };
    const readWord = (word: number): number => {
      f.w32(REG.EECD, CS);
      for (const b of [1, 1, 0]) clockOut(b);
      for (let i = 5; i >= 0; i--) clockOut((word >>> i) & 1);
      let v = 0;
      for (let i = 0; i < 16; i++) {
        f.w32(REG.EECD, CS | SK);
        v = (v << 1) | ((f.r32(REG.EECD) & DO) !== 0 ? 1 : 0);
        f.w32(REG.EECD, CS);
      }
      f.w32(REG.EECD, 0);
      return v;
    };
    expect(readWord(0)).toBe(0x5452);
    expect(readWord(2)).toBe(0x5634);
    expect(readWord(0x0e)).toBe(0x8086);
  });
});

describe('MDIC / PHY (devices.md 1.10)', () => {
  const mdic = (op: number, phy: number, reg: number, data = 0): number =>
    ((op << 26) | (phy << 21) | (reg << 16) | data) >>> 0;

  it('reads PHY ID 0141/0C20 and BMSR with link up from PHY address 1, READY set at once', () => {
    const f = new E1000Fixture();
    f.w32(REG.MDIC, mdic(2, 1, 2));
    expect(f.r32(REG.MDIC) & 0x1000ffff).toBe(0x10000141);
    f.w32(REG.MDIC, mdic(2, 1, 3));
    expect(f.r32(REG.MDIC) & 0xffff).toBe(0x0c20);
    f.w32(REG.MDIC, mdic(2, 1, 1));
    expect(f.r32(REG.MDIC) & 0x4).toBe(0x4);
  });

  it('flags another PHY address with E, writes writable registers, raises MDAC only with I', () => {
    const f = new E1000Fixture();
    f.w32(REG.MDIC, mdic(2, 2, 1));
    expect(f.r32(REG.MDIC) & 0x50000000).toBe(0x50000000);
    f.w32(REG.MDIC, mdic(1, 1, 4, 0x01e1));
    f.w32(REG.MDIC, mdic(2, 1, 4));
    expect(f.r32(REG.MDIC) & 0xffff).toBe(0x01e1);
    expect(f.nic.peek(REG.ICR, 4) & ICR.MDAC).toBe(0);
    f.w32(REG.MDIC, mdic(2, 1, 4) | (1 << 29));
    expect(f.nic.peek(REG.ICR, 4) & ICR.MDAC).toBe(ICR.MDAC);
  });
});

describe('register masks', () => {
  it('RAL/RAH store with AV, AS and 16 address bits; MTA stores', () => {
    const f = new E1000Fixture();
    f.w32(REG.RAL0 + 8, 0x44332211);
    f.w32(REG.RAH0 + 8, 0xffffffff);
    expect(f.r32(REG.RAL0 + 8)).toBe(0x44332211);
    expect(f.r32(REG.RAH0 + 8)).toBe(0x8003ffff);
    f.w32(REG.MTA + 4 * 127, 0xdeadbeef);
    expect(f.r32(REG.MTA + 4 * 127)).toBe(0xdeadbeef);
  });

  it('ring registers: BAL bits 3:0 read 0, LEN bits 19:7, heads/tails 16 bits, delays 16 bits', () => {
    const f = new E1000Fixture();
    f.w32(REG.RDBAL, 0x1234567f);
    expect(f.r32(REG.RDBAL)).toBe(0x12345670);
    f.w32(REG.TDLEN, 0xffffffff);
    expect(f.r32(REG.TDLEN)).toBe(0x000fff80);
    f.w32(REG.RDT, 0x12345678);
    expect(f.r32(REG.RDT)).toBe(0x5678);
    f.w32(REG.RADV, 0xffffffff);
    expect(f.r32(REG.RADV)).toBe(0xffff);
    f.w32(REG.RDTR, 0x80000010);
    expect(f.r32(REG.RDTR)).toBe(0x10); // FPD does not read back
    f.w32(REG.ITR, 0x12345);
    expect(f.r32(REG.ITR)).toBe(0x2345);
  });

  it('STATUS is read-only (writes ignored, counted)', () => {
    const f = new E1000Fixture();
    f.w32(REG.STATUS, 0);
    expect(f.r32(REG.STATUS)).toBe(0x80080783);
    expect(f.nic.stats.readOnlyWrites).toBe(1);
  });
});

describe('CTRL.RST (devices.md 1.3.1 recommendation)', () => {
  it('self-clears and brings MAC registers back to reset values, reloading RAL0/RAH0', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMS, 0x9d);
    f.w32(REG.ICS, 0x80);
    f.w32(REG.RCTL, 0x04008002);
    f.w32(REG.RDLEN, 0x1000);
    f.w32(REG.RAL0, 0);
    f.w32(REG.RAH0, 0);
    f.w32(REG.ITR, 100);
    f.w32(REG.CTRL, f.r32(REG.CTRL) | (1 << 26));
    expect(f.r32(REG.CTRL)).toBe(0x00140240);
    expect(f.r32(REG.CTRL) & (1 << 26)).toBe(0);
    expect(f.r32(REG.STATUS)).toBe(0x80080783);
    expect(f.nic.peek(REG.ICR, 4)).toBe(0);
    expect(f.r32(REG.IMS)).toBe(0);
    expect(f.r32(REG.RCTL)).toBe(0);
    expect(f.r32(REG.RDLEN)).toBe(0);
    expect(f.r32(REG.ITR)).toBe(0);
    expect(f.r32(REG.RAL0)).toBe(0x12005452);
    expect(f.r32(REG.RAH0)).toBe((RAH_AV | 0x5634) >>> 0);
    expect(f.nic.stats.resets).toBe(1);
    // PCI configuration survives a MAC reset.
    expect(f.nic.pci.busMasterEnabled).toBe(true);
    expect(f.nic.pci.msi!.enabled).toBe(true);
  });

  it('keeps a down link down across reset, and link changes raise LSC', () => {
    const f = new E1000Fixture();
    f.nic.setLink(false);
    expect(f.r32(REG.STATUS) & 2).toBe(0);
    expect(f.r32(REG.ICR) & ICR.LSC).toBe(ICR.LSC);
    f.w32(REG.CTRL, 1 << 26);
    expect(f.r32(REG.STATUS) & 2).toBe(0);
    f.nic.setLink(true);
    expect(f.r32(REG.STATUS) & 2).toBe(2);
    expect(f.r32(REG.ICR) & ICR.LSC).toBe(ICR.LSC);
  });
});

describe('statistics registers (devices.md 1.2.1)', () => {
  it('32-bit counters clear on read (peek does not); a 64-bit pair clears both halves on the high read', () => {
    const f = new E1000Fixture();
    const r = f.nic.regs;
    r[REG.MPC >>> 2] = 7;
    r[REG.GORCL >>> 2] = 0x1000;
    r[REG.GORCH >>> 2] = 2;
    expect(f.nic.peek(REG.MPC, 4)).toBe(7);
    expect(f.r32(REG.MPC)).toBe(7);
    expect(f.r32(REG.MPC)).toBe(0);
    expect(f.r32(REG.GORCL)).toBe(0x1000);
    expect(f.r32(REG.GORCL)).toBe(0x1000); // low half alone does not clear
    expect(f.r32(REG.GORCH)).toBe(2);
    expect(f.r32(REG.GORCL)).toBe(0);
    expect(f.r32(REG.GORCH)).toBe(0);
  });

  it('ignores writes to statistics', () => {
    const f = new E1000Fixture();
    f.w32(REG.GPRC, 99);
    expect(f.r32(REG.GPRC)).toBe(0);
  });
});

describe('access rules (devices.md 1.2)', () => {
  it('unknown offsets read 0 and ignore writes, counted; offsets beyond the BAR too', () => {
    const f = new E1000Fixture();
    f.w32(0x0044, 0x12345678);
    expect(f.r32(0x0044)).toBe(0);
    expect(f.r32(0x1fffc)).toBe(0);
    expect(f.nic.read(0x20000, 4)).toBe(0);
    f.nic.write(-4, 4, 1);
    expect(f.nic.stats.unknownReads).toBe(3);
    expect(f.nic.stats.unknownWrites).toBe(2);
  });

  it('a narrow read returns bytes of the dword; a narrow write is a dword write of the shifted value (QEMU), counted', () => {
    const f = new E1000Fixture();
    f.w32(REG.RAL0 + 8, 0x44332211);
    expect(f.nic.read(REG.RAL0 + 9, 1)).toBe(0x22);
    expect(f.nic.read(REG.RAL0 + 10, 2)).toBe(0x4433);
    f.nic.write(REG.RAL0 + 9, 1, 0xab);
    expect(f.r32(REG.RAL0 + 8)).toBe(0x0000ab00);
    expect(f.nic.read(REG.RAL0 + 11, 4)).toBe(0); // unaligned: only the holding dword's bytes
    expect(f.nic.stats.narrowAccesses).toBe(3);
    expect(f.nic.stats.unalignedAccesses).toBe(1);
  });

  it('a narrow read of ICR still reads (and clears) the whole register', () => {
    const f = new E1000Fixture();
    f.w32(REG.ICS, 0x204);
    expect(f.nic.read(REG.ICR + 1, 1)).toBe(0x02);
    expect(f.nic.peek(REG.ICR, 4)).toBe(0);
  });
});

describe('PCI identity and BAR1 (devices.md 1.1, 1.12)', () => {
  it('is 8086:100E rev 3, class 020000, INTA#, MSI capability at 0xD0 (64-bit, one vector), requester ID 0x18 at slot 3', () => {
    const f = new E1000Fixture({ msi: false });
    const pci = f.nic.pci;
    expect(pci.configRead(0, 4)).toBe(0x100e8086);
    expect(pci.configRead(0x08, 4)).toBe(0x02000003);
    expect(pci.configRead(0x3d, 1)).toBe(1);
    expect(pci.configRead(0x06, 2) & 0x10).toBe(0x10);
    expect(pci.configRead(0x34, 1)).toBe(0xd0);
    expect(pci.configRead(0xd0, 4)).toBe(0x00800005);
    pci.configWrite(0x10, 4, 0xffffffff);
    expect(pci.configRead(0x10, 4)).toBe(0xfffe0000); // 128 KiB memory BAR
    pci.configWrite(0x14, 4, 0xffffffff);
    expect(pci.configRead(0x14, 4)).toBe(0xffffffc1); // 64-byte I/O BAR
    expect(pci.requesterId).toBe(0x18);
  });

  it('reaches BAR0 registers through IOADDR/IODATA', () => {
    const f = new E1000Fixture();
    const io = f.nic.io;
    io.write(0, 4, REG.RAL0);
    expect(io.read(4, 4)).toBe(0x12005452);
    io.write(0, 4, REG.ICS);
    io.write(4, 4, 0x80);
    io.write(0, 4, REG.ICR);
    expect(io.peek(4, 4)).toBe(0x80);
    expect(io.read(4, 4)).toBe(0x80);
    expect(io.read(4, 4)).toBe(0);
    expect(io.read(8, 4)).toBe(0);
  });
});

/**
 * The contract suite is quadratic in the window, so it runs on a compact view: the defined register blocks of BAR0
 * laid end to end, plus the last bytes of the BAR (unknown offsets).
 */
class SampledBar implements BusDevice {
  readonly name = 'e1000-bar0-sample';
  static readonly BLOCKS: [number, number][] = [
    [0x0000, 0x0040],
    [0x00c0, 0x00e0],
    [0x0100, 0x0104],
    [0x0400, 0x0414],
    [0x2800, 0x2830],
    [0x3800, 0x3830],
    [0x4000, 0x4014],
    [0x4088, 0x4098],
    [0x40fc, 0x4104],
    [0x5200, 0x5208],
    [0x5400, 0x5410],
    [0x1fff0, 0x20000],
  ];
  readonly window: number;

  constructor(private readonly device: BusDevice) {
    this.window = SampledBar.BLOCKS.reduce((n, [a, b]) => n + b - a, 0);
  }

  private map(offset: number): number {
    if (offset < 0) return offset;
    let o = offset;
    for (const [a, b] of SampledBar.BLOCKS) {
      if (o < b - a) return a + o;
      o -= b - a;
    }
    return 0x20000 + o;
  }

  read(offset: number, size: AccessSize): number {
    return this.device.read(this.map(offset), size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    this.device.write(this.map(offset), size, value);
  }

  peek(offset: number, size: AccessSize): number {
    return this.device.peek(this.map(offset), size);
  }
}

describe('e1000 BAR0 BusDevice contract', () => {
  const subjects: Record<string, () => E1000Fixture> = {
    'at reset': () => new E1000Fixture(),
    'with causes pending, statistics counted, EERD started': () => {
      const f = new E1000Fixture();
      f.w32(REG.ICS, 0x85);
      f.w32(REG.IMS, 0x04);
      f.w32(REG.EERD, 0x0201);
      const r = f.nic.regs;
      r[REG.MPC >>> 2] = 3;
      r[REG.GORCL >>> 2] = 5;
      r[REG.GORCH >>> 2] = 1;
      return f;
    },
  };
  it('BAR1 I/O window', () => {
    checkBusDeviceContract({
      make: () => {
        const f = new E1000Fixture();
        f.w32(REG.ICS, 0x80);
        f.nic.io.write(0, 4, REG.ICR);
        return f.nic.io;
      },
      window: 0x40,
    });
  });
  for (const [name, make] of Object.entries(subjects)) {
    it(name, () => {
      const probe = new SampledBar(make().nic);
      const subject: ContractSubject = { make: () => new SampledBar(make().nic), window: probe.window };
      checkBusDeviceContract(subject);
    }, 60_000);
  }
});
