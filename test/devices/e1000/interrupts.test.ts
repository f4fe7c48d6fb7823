// e1000 interrupts from devices.md 1.4-1.5 and 1.12: causes in ICR, MSI only for causes in IMS (0 -> non-zero edge),
// INTx level fallback, ITR spacing and the RDTR/RADV/TIDV/TADV delays measured on the simulated clock.

import { describe, expect, it } from 'vitest';
import { type DmaSpace, DmaStatus } from '../../../src/core/dma.js';
import { E1000Fixture, ICR, MSI_ADDRESS, MSI_VECTOR, NIC_RID, OUR_MAC, REG, TX_CMD, makeFrame } from './fixture.js';

const RX_RING = 0x10000;
const RX_BUFS = 0x40000;
const TX_RING = 0x20000;
const TX_BUF = 0x30000;

describe('MSI signalling (devices.md 1.5.2, 1.12)', () => {
  it('records masked causes without a message; unmasking a pending cause sends one at once', () => {
    const f = new E1000Fixture();
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(0);
    f.w32(REG.IMS, ICR.TXDW);
    expect(f.sink.msis).toHaveLength(0);
    f.w32(REG.IMS, ICR.RXT0);
    expect(f.sink.msis).toEqual([{ address: MSI_ADDRESS, data: MSI_VECTOR, cycle: 0 }]);
  });

  it('sends one message per 0 -> non-zero edge of ICR & IMS: none while pending, the next after ICR is read', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMS, 0x9d);
    f.w32(REG.ICS, ICR.RXT0);
    f.w32(REG.ICS, ICR.TXDW);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(1);
    expect(f.r32(REG.ICR)).toBe(ICR.RXT0 | ICR.TXDW);
    f.w32(REG.ICS, ICR.TXDW);
    expect(f.sink.msis).toHaveLength(2);
  });

  it('goes out through the DMA space with the requester ID of slot 3 (0x18), after the descriptor write-back', () => {
    const log: string[] = [];
    const f = new E1000Fixture({
      wrapDma: (inner: DmaSpace): DmaSpace => ({
        read: (rid, iova, dst, n) => inner.read(rid, iova, dst, n),
        write: (rid, iova, src, n) => {
          log.push(`write ${rid.toString(16)} ${iova.toString(16)}`);
          return inner.write(rid, iova, src, n);
        },
        msi: (rid, address, data) => {
          log.push(`msi ${rid.toString(16)} ${address.toString(16)} ${data.toString(16)}`);
          return inner.msi(rid, address, data);
        },
      }),
    });
    f.w32(REG.IMS, ICR.TXDW);
    f.setupTx(TX_RING, 8);
    f.writeTxDesc(TX_RING, 0, TX_BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 1);
    expect(log).toEqual([`write ${NIC_RID.toString(16)} ${(TX_RING + 12).toString(16)}`, `msi 18 fee00000 41`]);
  });

  it('sends nothing with Bus Master off (counted), and the next episode after it is turned on', () => {
    const f = new E1000Fixture();
    f.nic.pci.configWrite(0x04, 2, 0x0002);
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(0);
    expect(f.nic.pci.msi!.suppressed).toBe(1);
    expect(f.nic.stats.msiNotDelivered).toBe(1);
    f.nic.pci.configWrite(0x04, 2, 0x0006);
    f.r32(REG.ICR);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(1);
  });

  it('counts a message the DMA space refuses (e.g. an interrupt-remapping fault) without throwing', () => {
    const f = new E1000Fixture({
      wrapDma: (inner) => ({ read: inner.read.bind(inner), write: inner.write.bind(inner), msi: () => DmaStatus.Fault }),
    });
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.nic.pci.msi!.faulted).toBe(1);
    expect(f.nic.stats.msiNotDelivered).toBe(1);
  });
});

describe('INTx fallback (devices.md 1.5.2)', () => {
  it('drives INTA# while ICR & IMS != 0 and MSI is disabled; reading ICR drops it', () => {
    const f = new E1000Fixture({ msi: false });
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.intx.level).toBe(true);
    expect(f.nic.pci.configRead(0x06, 2) & 0x08).toBe(0x08); // Interrupt Status
    expect(f.sink.msis).toHaveLength(0);
    f.r32(REG.ICR);
    expect(f.intx.level).toBe(false);
    f.w32(REG.ICS, ICR.RXT0);
    f.w32(REG.IMC, ICR.RXT0);
    expect(f.intx.level).toBe(false);
    expect(f.intx.rises).toBe(2);
  });

  it('keeps the pin low with Command.INTx Disable set', () => {
    const f = new E1000Fixture({ msi: false });
    f.nic.pci.configWrite(0x04, 2, 0x0406);
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.intx.level).toBe(false);
  });
});

describe('ITR throttling (devices.md 1.5.3)', () => {
  it('spaces interrupts by ITR x 256 ns: a cause inside the window is signalled when it ends', () => {
    const f = new E1000Fixture(); // 1 GHz: 256 cycles per ITR unit
    f.w32(REG.ITR, 1000); // 256 us
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0]);
    f.r32(REG.ICR);
    f.advanceTo(1000);
    f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(1);
    f.advanceTo(255_999);
    expect(f.sink.msis).toHaveLength(1);
    f.advanceTo(400_000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 256_000]);
    f.r32(REG.ICR);
    f.w32(REG.ICS, ICR.RXT0); // at 400000: next allowed at 512000
    f.advanceTo(600_000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 256_000, 512_000]);
    expect(f.nic.stats.throttled).toBe(2);
  });

  it('drops a deferred interrupt whose causes were cleared inside the window', () => {
    const f = new E1000Fixture();
    f.w32(REG.ITR, 100);
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    f.r32(REG.ICR);
    f.w32(REG.ICS, ICR.RXT0);
    f.r32(REG.ICR);
    f.advance(100_000);
    expect(f.sink.msis).toHaveLength(1);
  });

  it('uses the scheduler frequency: ITR = 1 is 512 cycles at 2 GHz', () => {
    const f = new E1000Fixture({ frequencyHz: 2_000_000_000 });
    f.w32(REG.ITR, 1);
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    f.r32(REG.ICR);
    f.w32(REG.ICS, ICR.RXT0);
    f.advance(10_000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 512]);
  });

  it('ITR = 0 does not throttle: every new episode signals at once', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMS, ICR.RXT0);
    for (let i = 0; i < 5; i++) {
      f.w32(REG.ICS, ICR.RXT0);
      f.r32(REG.ICR);
    }
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 0, 0, 0, 0]);
  });

  it('a shorter ITR written during the window takes effect for the pending interrupt', () => {
    const f = new E1000Fixture();
    f.w32(REG.ITR, 1000);
    f.w32(REG.IMS, ICR.RXT0);
    f.w32(REG.ICS, ICR.RXT0);
    f.r32(REG.ICR);
    f.w32(REG.ICS, ICR.RXT0);
    f.advanceTo(10_000);
    f.w32(REG.ITR, 10); // window from 0 now ends at 2560: already past
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 10_000]);
  });
});

describe('receive delay timers (devices.md 1.5.4)', () => {
  function rxReady(f: E1000Fixture): void {
    f.setupRx(RX_RING, 32, RX_BUFS);
    f.w32(REG.IMS, ICR.RXT0);
  }
  const frame = makeFrame([...OUR_MAC], 60);

  it('RDTR = 0: RXT0 with the frame', () => {
    const f = new E1000Fixture();
    rxReady(f);
    f.nic.receive(frame, 60);
    expect(f.sink.msis).toHaveLength(1);
  });

  it('RDTR: RXT0 RDTR x 1.024 us after the last frame (each frame restarts it)', () => {
    const f = new E1000Fixture();
    rxReady(f);
    f.w32(REG.RDTR, 100); // 102400 cycles
    f.nic.receive(frame, 60);
    f.advanceTo(50_000);
    f.nic.receive(frame, 60);
    f.advanceTo(152_399);
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXT0).toBe(0);
    f.advanceTo(152_400);
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXT0).toBe(ICR.RXT0);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([152_400]);
  });

  it('RADV bounds the delay from the first frame when frames keep restarting RDTR', () => {
    const f = new E1000Fixture();
    rxReady(f);
    f.w32(REG.RDTR, 100);
    f.w32(REG.RADV, 150); // 153600 cycles
    for (let t = 0; t <= 150_000; t += 50_000) {
      f.advanceTo(t);
      f.nic.receive(frame, 60);
    }
    f.advanceTo(400_000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([153_600]);
  });

  it('RDTR.FPD expires the packet timer immediately', () => {
    const f = new E1000Fixture();
    rxReady(f);
    f.w32(REG.RDTR, 1000);
    f.nic.receive(frame, 60);
    f.advanceTo(10);
    expect(f.sink.msis).toHaveLength(0);
    f.w32(REG.RDTR, 0x80000000 | 1000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([10]);
    f.advance(2_000_000);
    expect(f.sink.msis).toHaveLength(1);
  });
});

describe('transmit delay timers (devices.md 1.5.4)', () => {
  function send(f: E1000Fixture, slot: number, cmd: number): void {
    f.writeTxDesc(TX_RING, slot, TX_BUF, 60, cmd);
    f.w32(REG.TDT, slot + 1);
  }

  it('IDE = 0: TXDW at once; IDE = 1: TXDW TIDV x 1.024 us after the last written-back descriptor', () => {
    const f = new E1000Fixture();
    f.setupTx(TX_RING, 8);
    f.w32(REG.IMS, ICR.TXDW);
    f.w32(REG.TIDV, 64); // 65536 cycles
    send(f, 0, TX_CMD.EOP | TX_CMD.RS);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0]);
    f.r32(REG.ICR);
    f.advanceTo(1000);
    send(f, 1, TX_CMD.EOP | TX_CMD.RS | TX_CMD.IDE);
    expect(f.txStatus(TX_RING, 1) & 1).toBe(1); // the write-back itself is not delayed
    expect(f.nic.peek(REG.ICR, 4) & ICR.TXDW).toBe(0);
    f.advanceTo(66_535);
    expect(f.sink.msis).toHaveLength(1);
    f.advanceTo(66_536);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([0, 66_536]);
  });

  it('TADV bounds the delay from the first IDE descriptor', () => {
    const f = new E1000Fixture();
    f.setupTx(TX_RING, 8);
    f.w32(REG.IMS, ICR.TXDW);
    f.w32(REG.TIDV, 64);
    f.w32(REG.TADV, 100); // 102400 cycles
    for (let i = 0; i < 4; i++) {
      f.advanceTo(i * 40_000);
      send(f, i, TX_CMD.EOP | TX_CMD.RS | TX_CMD.IDE);
    }
    f.advanceTo(500_000);
    expect(f.sink.msis.map((m) => m.cycle)).toEqual([102_400]);
  });
});
