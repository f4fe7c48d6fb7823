// Unit tests for src/cpu/exec/bits.ts: BT/BTS/BTR/BTC, BSF/BSR, BSWAP, XADD, CMPXCHG, CMPXCHG8B, with
// expected values worked by hand from the SDM Vol. 2 Operation and Flags Affected sections.

import { describe, expect, it } from 'vitest';
import type { BusDevice } from '../../src/core/bus.js';
import { AF, CF, DATA_BASE, OF, PF, SF, STATUS_FLAGS, ZF, cpuRunner, type Regs, type RunResult } from '../helpers/cpu-runner.js';

const UD = 6;
const runner = cpuRunner();

/** One instruction on a freshly reset machine. */
function exec(code: number[], regs: Regs = {}, flags = 0, mem: [number, number[]][] = []): RunResult {
  runner.machine.reset();
  runner.bytes(code).regs(regs).flags(flags);
  for (const [addr, bytes] of mem) runner.mem(addr, bytes);
  return runner.step(1);
}

const disp32 = (a: number): number[] => [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, (a >>> 24) & 0xff];
const X = DATA_BASE + 0x100;
const ZEROS = new Array<number>(64).fill(0);
/** 64 zero bytes around X (X-32 .. X+31), so each test starts from a clean bit string. */
const CLEAN: [number, number[]] = [X - 32, ZEROS];

describe('BT / BTS / BTR / BTC with a register operand', () => {
  // Ev = EBX (rm 3), Gv = ECX (reg 1): ModRM 0xCB.
  it('the bit offset is taken modulo 32 (and 16 with 0x66)', () => {
    let r = exec([0x0f, 0xa3, 0xcb], { ebx: 0x00000002, ecx: 33 });
    expect(r.flags & CF).toBe(CF);
    r = exec([0x0f, 0xa3, 0xcb], { ebx: 0x00000002, ecx: 32 }, CF);
    expect(r.flags & CF).toBe(0);
    r = exec([0x66, 0x0f, 0xa3, 0xcb], { ebx: 0x00010004, ecx: 0x12 }); // 18 mod 16 = bit 2 of BX
    expect(r.flags & CF).toBe(CF);
  });

  it('BTS/BTR/BTC change the bit and report its old value in CF', () => {
    let r = exec([0x0f, 0xab, 0xcb], { ebx: 0x80000000, ecx: 31 }); // bts: already set
    expect(r.ebx).toBe(0x80000000);
    expect(r.flags & CF).toBe(CF);
    r = exec([0x0f, 0xab, 0xcb], { ebx: 0, ecx: 4 }, CF); // bts: was clear
    expect(r.ebx).toBe(0x10);
    expect(r.flags & CF).toBe(0);
    r = exec([0x0f, 0xb3, 0xcb], { ebx: 0xffffffff, ecx: 0 }); // btr
    expect(r.ebx).toBe(0xfffffffe);
    expect(r.flags & CF).toBe(CF);
    r = exec([0x0f, 0xbb, 0xcb], { ebx: 0x00000100, ecx: 8 }); // btc 1 -> 0
    expect(r.ebx).toBe(0);
    expect(r.flags & CF).toBe(CF);
    r = exec([0x66, 0x0f, 0xbb, 0xcb], { ebx: 0xabcd0000, ecx: 0x1f }); // btc bx, cx: bit 15 of BX
    expect(r.ebx).toBe(0xabcd8000);
    expect(r.flags & CF).toBe(0);
  });

  it('the imm8 forms (0F BA /4../7) mask the offset to the width', () => {
    let r = exec([0x0f, 0xba, 0xe3, 33], { ebx: 2 }); // bt ebx, 33
    expect(r.flags & CF).toBe(CF);
    r = exec([0x0f, 0xba, 0xeb, 0xff], { ebx: 0 }); // bts ebx, 0xff -> bit 31
    expect(r.ebx).toBe(0x80000000);
    r = exec([0x0f, 0xba, 0xf3, 1], { ebx: 3 }, 0); // btr ebx, 1
    expect(r.ebx).toBe(1);
    expect(r.flags & CF).toBe(CF);
    r = exec([0x66, 0x0f, 0xba, 0xfb, 17], { ebx: 0x00010000 }); // btc bx, 17 -> bit 1; bit 16 untouched
    expect(r.ebx).toBe(0x00010002);
    expect(r.flags & CF).toBe(0);
  });

  it('0F BA /0../3 are #UD', () => {
    for (let reg = 0; reg < 4; reg++) expect(exec([0x0f, 0xba, 0xc3 | (reg << 3), 1]).exception).toBe(UD);
  });

  it('only CF changes: ZF is unaffected, OF/SF/AF/PF (undefined) are left as they were', () => {
    for (const flags of [0, ZF | SF | OF | AF | PF]) {
      for (const code of [[0x0f, 0xa3, 0xcb], [0x0f, 0xab, 0xcb], [0x0f, 0xb3, 0xcb], [0x0f, 0xbb, 0xcb], [0x0f, 0xba, 0xe3, 3]]) {
        const r = exec(code, { ebx: 0x8, ecx: 3 }, flags);
        expect(r.flags & STATUS_FLAGS).toBe(flags | CF);
      }
    }
  });
});

describe('BT / BTS / BTR / BTC with a memory operand', () => {
  // ModRM 0x0D: reg = ECX, [disp32].
  const bt = (op: number, extra: number[] = []): number[] => [...extra, 0x0f, op, 0x0d, ...disp32(X)];

  it('a register offset is a signed bit-string index: negative offsets reach below the address', () => {
    // -1: the dword at X-4, bit 31 = bit 7 of byte X-1.
    let r = exec(bt(0xa3), { ecx: -1 }, 0, [CLEAN, [X - 1, [0x80]]]);
    expect(r.exception).toBeNull();
    expect(r.flags & CF).toBe(CF);
    // -32: the dword at X-4, bit 0 = bit 0 of byte X-4.
    r = exec(bt(0xa3), { ecx: -32 }, 0, [CLEAN, [X - 4, [0x01]]]);
    expect(r.flags & CF).toBe(CF);
    // -33: the dword at X-8, bit 31 = bit 7 of byte X-5; byte X-1 is not it.
    r = exec(bt(0xa3), { ecx: -33 }, CF, [CLEAN, [X - 1, [0xff]]]);
    expect(r.flags & CF).toBe(0);
    r = exec(bt(0xa3), { ecx: -33 }, 0, [CLEAN, [X - 5, [0x80]]]);
    expect(r.flags & CF).toBe(CF);
    // +0x100: the dword at X+32, bit 0.
    r = exec(bt(0xa3), { ecx: 0x100 }, 0, [CLEAN, [X + 32, [0x01]]]);
    expect(r.flags & CF).toBe(CF);
  });

  it('BTS/BTR/BTC write the selected bit below the address', () => {
    // -9: bit 7 of byte X-2.
    let r = exec(bt(0xab), { ecx: -9 }, CF, [CLEAN]);
    expect(Array.from(r.memory(X - 4, 8))).toEqual([0, 0, 0x80, 0, 0, 0, 0, 0]);
    expect(r.flags & CF).toBe(0);
    r = exec(bt(0xb3), { ecx: -9 }, 0, [CLEAN, [X - 4, [0xff, 0xff, 0xff, 0xff]]]);
    expect(Array.from(r.memory(X - 4, 4))).toEqual([0xff, 0xff, 0x7f, 0xff]);
    expect(r.flags & CF).toBe(CF);
    r = exec(bt(0xbb), { ecx: 5 }, 0, [CLEAN, [X, [0x21]]]);
    expect(Array.from(r.memory(X, 4))).toEqual([0x01, 0, 0, 0]);
    expect(r.flags & CF).toBe(CF);
  });

  it('16-bit: the offset is CX sign-extended and the address moves by words', () => {
    // CX = 0xFFF0 = -16: the word at X-2, bit 0 (the upper half of ECX is ignored).
    let r = exec(bt(0xa3, [0x66]), { ecx: 0x0001fff0 }, 0, [CLEAN, [X - 2, [0x01]]]);
    expect(r.flags & CF).toBe(CF);
    // CX = 0xFFFF = -1: bit 15 of the word at X-2 = bit 7 of byte X-1.
    r = exec(bt(0xab, [0x66]), { ecx: 0xffff }, 0, [CLEAN]);
    expect(Array.from(r.memory(X - 4, 8))).toEqual([0, 0, 0, 0x80, 0, 0, 0, 0]);
    expect(r.flags & CF).toBe(0);
  });

  it('an imm8 offset does not move the address', () => {
    // bt dword [X], 33 -> bit 1 of [X]
    let r = exec([0x0f, 0xba, 0x25, ...disp32(X), 33], {}, 0, [CLEAN, [X, [0x02]]]);
    expect(r.flags & CF).toBe(CF);
    // bts word [X], 31 -> bit 15 of [X]
    r = exec([0x66, 0x0f, 0xba, 0x2d, ...disp32(X), 31], {}, 0, [CLEAN]);
    expect(Array.from(r.memory(X, 4))).toEqual([0, 0x80, 0, 0]);
  });

  it('LOCK: allowed on BTS/BTR/BTC to memory, #UD on BT and on register destinations', () => {
    let r = exec(bt(0xab, [0xf0]), { ecx: 3 }, 0, [CLEAN]);
    expect(r.exception).toBeNull();
    expect(Array.from(r.memory(X, 1))).toEqual([0x08]);
    expect(exec(bt(0xa3, [0xf0]), { ecx: 3 }).exception).toBe(UD);
    expect(exec([0xf0, 0x0f, 0xab, 0xcb]).exception).toBe(UD);
    expect(exec([0xf0, 0x0f, 0xba, 0xeb, 1]).exception).toBe(UD);
    r = exec([0xf0, 0x0f, 0xba, 0x2d, ...disp32(X), 1], {}, 0, [CLEAN]);
    expect(r.exception).toBeNull();
  });
});

describe('BSF / BSR', () => {
  // Gv = ECX (reg 1), Ev = EBX (rm 3): ModRM 0xCB.
  it('the lowest and highest set bit; ZF = 0', () => {
    let r = exec([0x0f, 0xbc, 0xcb], { ebx: 0x00018000, ecx: 0xdeadbeef }, ZF);
    expect(r.ecx).toBe(15);
    expect(r.flags & ZF).toBe(0);
    r = exec([0x0f, 0xbd, 0xcb], { ebx: 0x00018000, ecx: 0xdeadbeef }, ZF);
    expect(r.ecx).toBe(16);
    r = exec([0x0f, 0xbd, 0xcb], { ebx: 0x80000000 });
    expect(r.ecx).toBe(31);
    r = exec([0x0f, 0xbc, 0xcb], { ebx: 0x80000000 });
    expect(r.ecx).toBe(31);
  });

  it('a zero source sets ZF and leaves the destination unchanged', () => {
    for (const op of [0xbc, 0xbd]) {
      const r = exec([0x0f, op, 0xcb], { ebx: 0, ecx: 0xdeadbeef });
      expect(r.ecx).toBe(0xdeadbeef);
      expect(r.flags & ZF).toBe(ZF);
      // 16-bit: BX = 0 although EBX is not.
      const r16 = exec([0x66, 0x0f, op, 0xcb], { ebx: 0xffff0000, ecx: 0xdeadbeef });
      expect(r16.ecx).toBe(0xdeadbeef);
      expect(r16.flags & ZF).toBe(ZF);
    }
  });

  it('16-bit forms write only CX', () => {
    let r = exec([0x66, 0x0f, 0xbc, 0xcb], { ebx: 0x00018000, ecx: 0xdeadbeef });
    expect(r.ecx).toBe(0xdead000f);
    r = exec([0x66, 0x0f, 0xbd, 0xcb], { ebx: 0x00010001, ecx: 0xdeadbeef });
    expect(r.ecx).toBe(0xdead0000);
  });

  it('a memory source', () => {
    const r = exec([0x0f, 0xbd, 0x0d, ...disp32(X)], { ecx: 0 }, 0, [[X, [0x00, 0x00, 0x40, 0x00]]]);
    expect(r.ecx).toBe(22);
  });

  it('CF/OF/SF/AF/PF (undefined) are left as they were', () => {
    for (const flags of [0, CF | OF | SF | AF | PF]) {
      expect(exec([0x0f, 0xbc, 0xcb], { ebx: 6 }, flags | ZF).flags & STATUS_FLAGS).toBe(flags);
      expect(exec([0x0f, 0xbd, 0xcb], { ebx: 0 }, flags).flags & STATUS_FLAGS).toBe(flags | ZF);
    }
  });

  it('F3 0F BC / F3 0F BD (TZCNT / LZCNT) are #UD here', () => {
    expect(exec([0xf3, 0x0f, 0xbc, 0xcb], { ebx: 1 }).exception).toBe(UD);
    expect(exec([0xf3, 0x0f, 0xbd, 0xcb], { ebx: 1 }).exception).toBe(UD);
  });
});

describe('BSWAP', () => {
  it('reverses the bytes of each register (0F C8+r)', () => {
    const regs = { eax: 0x01020304, ecx: 0x11223344, edx: 0x12345678, ebx: 0x89abcdef, ebp: 0xa0b0c0d0, esi: 0x000000ff, edi: 0xff000000 };
    const expected: Record<string, number> = { eax: 0x04030201, ecx: 0x44332211, edx: 0x78563412, ebx: 0xefcdab89, ebp: 0xd0c0b0a0, esi: 0xff000000, edi: 0x000000ff };
    const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
    for (let r = 0; r < 8; r++) {
      if (r === 4) continue;
      const res = exec([0x0f, 0xc8 + r], regs);
      expect(res.reg(names[r])).toBe(expected[names[r]]);
    }
  });

  it('with 0x66 (undefined by the SDM) clears the low word, as Intel processors do', () => {
    expect(exec([0x66, 0x0f, 0xcb], { ebx: 0x12345678 }).ebx).toBe(0x12340000);
  });

  it('changes no flags', () => {
    expect(exec([0x0f, 0xcb], { ebx: 0 }, STATUS_FLAGS).flags & STATUS_FLAGS).toBe(STATUS_FLAGS);
  });
});

describe('XADD', () => {
  it('xadd ebx, ecx: ECX = old EBX, EBX = sum, flags as ADD', () => {
    const r = exec([0x0f, 0xc1, 0xcb], { ebx: 0xffffffff, ecx: 1 }, SF | OF);
    expect(r.ebx).toBe(0);
    expect(r.ecx).toBe(0xffffffff);
    expect(r.flags & STATUS_FLAGS).toBe(CF | ZF | AF | PF);
  });

  it('with one register for both operands the sum wins', () => {
    expect(exec([0x0f, 0xc1, 0xc0], { eax: 5 }).eax).toBe(10);
    expect(exec([0x0f, 0xc0, 0xdb], { ebx: 0x12345603 }).ebx).toBe(0x12345606); // xadd bl, bl
  });

  it('xadd bl, cl and xadd bx, cx', () => {
    let r = exec([0x0f, 0xc0, 0xcb], { ebx: 0xaaaaaa80, ecx: 0xbbbbbb80 });
    expect(r.ebx).toBe(0xaaaaaa00);
    expect(r.ecx).toBe(0xbbbbbb80);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF | ZF | PF);
    r = exec([0x66, 0x0f, 0xc1, 0xcb], { ebx: 0xaaaa7fff, ecx: 0xbbbb0001 });
    expect(r.ebx).toBe(0xaaaa8000);
    expect(r.ecx).toBe(0xbbbb7fff);
    expect(r.flags & STATUS_FLAGS).toBe(OF | SF | AF | PF);
  });

  it('xadd [mem], ecx (and under LOCK)', () => {
    for (const lock of [[], [0xf0]]) {
      const r = exec([...lock, 0x0f, 0xc1, 0x0d, ...disp32(X)], { ecx: 1 }, 0, [[X, [0xff, 0xff, 0xff, 0x7f]]]);
      expect(r.exception).toBeNull();
      expect(r.read32(X)).toBe(0x80000000);
      expect(r.ecx).toBe(0x7fffffff);
      expect(r.flags & STATUS_FLAGS).toBe(OF | SF | AF | PF);
    }
  });

  it('LOCK with a register destination is #UD', () => {
    const r = exec([0xf0, 0x0f, 0xc1, 0xcb], { ebx: 1, ecx: 2 });
    expect(r.exception).toBe(UD);
    expect(r.ebx).toBe(1);
    expect(r.ecx).toBe(2);
  });
});

describe('CMPXCHG', () => {
  it('equal: ZF=1 and the destination gets the source', () => {
    const r = exec([0x0f, 0xb1, 0xcb], { eax: 7, ebx: 7, ecx: 0x99 }, CF | SF);
    expect(r.ebx).toBe(0x99);
    expect(r.eax).toBe(7);
    expect(r.flags & STATUS_FLAGS).toBe(ZF | PF); // CMP 7,7: result 0
  });

  it('unequal: ZF=0 and the accumulator gets the destination; flags as CMP EAX, dest', () => {
    const r = exec([0x0f, 0xb1, 0xcb], { eax: 1, ebx: 2, ecx: 0x99 });
    expect(r.ebx).toBe(2);
    expect(r.eax).toBe(2);
    // 1 - 2 = 0xFFFFFFFF: borrow out (CF) and from bit 4 (AF), negative, 8 ones in the low byte.
    expect(r.flags & STATUS_FLAGS).toBe(CF | AF | SF | PF);
  });

  it('8- and 16-bit forms use AL and AX', () => {
    let r = exec([0x0f, 0xb0, 0xcb], { eax: 0x11111142, ebx: 0x22222242, ecx: 0x333333aa });
    expect(r.ebx).toBe(0x222222aa);
    expect(r.flags & ZF).toBe(ZF);
    r = exec([0x0f, 0xb0, 0xcb], { eax: 0x11111142, ebx: 0x22222243, ecx: 0x333333aa });
    expect(r.eax).toBe(0x11111143);
    expect(r.ebx).toBe(0x22222243);
    expect(r.flags & ZF).toBe(0);
    r = exec([0x66, 0x0f, 0xb1, 0xcb], { eax: 0x11118000, ebx: 0x22227fff, ecx: 0x3333aaaa });
    expect(r.eax).toBe(0x11117fff);
    expect(r.flags & STATUS_FLAGS).toBe(OF | AF); // 0x8000 - 0x7fff = 1: signed overflow, borrow from bit 4, odd parity
    r = exec([0x66, 0x0f, 0xb1, 0xcb], { eax: 0x1111beef, ebx: 0x2222beef, ecx: 0x3333aaaa });
    expect(r.ebx).toBe(0x2222aaaa);
    expect(r.flags & ZF).toBe(ZF);
  });

  it('memory destination, both outcomes', () => {
    let r = exec([0xf0, 0x0f, 0xb1, 0x0d, ...disp32(X)], { eax: 0x1234, ecx: 0x5678 }, 0, [[X, [0x34, 0x12, 0, 0]]]);
    expect(r.exception).toBeNull();
    expect(r.read32(X)).toBe(0x5678);
    expect(r.flags & ZF).toBe(ZF);
    r = exec([0x0f, 0xb1, 0x0d, ...disp32(X)], { eax: 0x1235, ecx: 0x5678 }, ZF, [[X, [0x34, 0x12, 0, 0]]]);
    expect(r.read32(X)).toBe(0x1234);
    expect(r.eax).toBe(0x1234);
    expect(r.flags & ZF).toBe(0);
  });

  it('an unequal compare still writes the destination (with its own value): MMIO sees the write', () => {
    for (const [code, size, eax] of [[[0x0f, 0xb0], 1, 0x11111100], [[0x66, 0x0f, 0xb1], 2, 0x11110000], [[0x0f, 0xb1], 4, 0]] as const) {
      const m = cpuRunner();
      const writes: [number, number, number][] = [];
      const dev: BusDevice = { name: 'rec', read: (o) => (o === 0 ? 0xcafe & (size === 1 ? 0xff : 0xffff) : 0), write: (o, s, v) => void writes.push([o, s, v >>> 0]), peek: () => 0 };
      m.machine.memory.mapMmio(0xfe000000, 0x1000, dev);
      const r = m.bytes([...code, 0x0d, ...disp32(0xfe000000)]).regs({ eax: eax | 1, ecx: 0x5678 }).step(1);
      expect(r.exception).toBeNull();
      expect(r.eax).toBe((eax | (0xcafe & (size === 1 ? 0xff : 0xffff))) >>> 0);
      expect(r.flags & ZF).toBe(0);
      expect(writes).toEqual([[0, size, 0xcafe & (size === 1 ? 0xff : 0xffff)]]);
    }
  });

  it('LOCK with a register destination is #UD', () => {
    expect(exec([0xf0, 0x0f, 0xb1, 0xcb], { eax: 1, ebx: 1, ecx: 2 }).exception).toBe(UD);
    expect(exec([0xf0, 0x0f, 0xb0, 0xcb]).exception).toBe(UD);
  });
});

describe('CMPXCHG8B', () => {
  const code = (lock: number[] = []): number[] => [...lock, 0x0f, 0xc7, 0x0d, ...disp32(X)];
  const m64 = [0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55]; // 0x55667788_11223344

  it('equal: ZF=1 and m64 = ECX:EBX; other flags unaffected', () => {
    for (const flags of [0, CF | PF | AF | SF | OF]) {
      const r = exec(code([0xf0]), { edx: 0x55667788, eax: 0x11223344, ecx: 0xdeadbeef, ebx: 0x01234567 }, flags, [[X, m64]]);
      expect(r.exception).toBeNull();
      expect(r.read32(X)).toBe(0x01234567);
      expect(r.read32(X + 4)).toBe(0xdeadbeef);
      expect(r.edx).toBe(0x55667788);
      expect(r.eax).toBe(0x11223344);
      expect(r.flags & STATUS_FLAGS).toBe(flags | ZF);
    }
  });

  it('unequal (either half): ZF=0 and EDX:EAX = m64; m64 unchanged', () => {
    for (const [edx, eax] of [[0x55667788, 0x11223345], [0x55667789, 0x11223344]]) {
      for (const flags of [ZF, ZF | CF | PF | AF | SF | OF]) {
        const r = exec(code(), { edx, eax, ecx: 0xdeadbeef, ebx: 0x01234567 }, flags, [[X, m64]]);
        expect(r.read32(X)).toBe(0x11223344);
        expect(r.read32(X + 4)).toBe(0x55667788);
        expect(r.edx).toBe(0x55667788);
        expect(r.eax).toBe(0x11223344);
        expect(r.flags & STATUS_FLAGS).toBe(flags & ~ZF);
      }
    }
  });

  it('unequal still writes m64 back (MMIO sees both halves)', () => {
    const m = cpuRunner();
    const writes: [number, number, number][] = [];
    const dev: BusDevice = { name: 'rec', read: (o) => (o === 0 ? 0x11111111 : 0x22222222), write: (o, s, v) => void writes.push([o, s, v >>> 0]), peek: () => 0 };
    m.machine.memory.mapMmio(0xfe000000, 0x1000, dev);
    const r = m.bytes([0x0f, 0xc7, 0x0d, ...disp32(0xfe000000)]).regs({ eax: 0, edx: 0 }).step(1);
    expect(r.exception).toBeNull();
    expect(r.eax).toBe(0x11111111);
    expect(r.edx).toBe(0x22222222);
    expect(writes).toEqual([[0, 4, 0x11111111], [4, 4, 0x22222222]]);
  });

  it('a register operand is #UD, as is LOCK on it', () => {
    expect(exec([0x0f, 0xc7, 0xcb]).exception).toBe(UD);
    expect(exec([0xf0, 0x0f, 0xc7, 0xcb]).exception).toBe(UD);
  });
});
