// EPT (src/vmx/ept.ts) against the SDM: 4K/2M walks, every misconfiguration and violation case with its
// exit qualification, A/D flags, the TLB and INVEPT, and the EPTP checks of VM entry.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import {
  EPT_VPID_CAP_HI,
  EPT_VPID_CAP_LO,
  Ept,
  EptAccess,
  EptBuilder,
  EptResult,
  eptPointerProblem,
} from '../../src/vmx/ept.js';

const PML4E = 0;
const PDPTE = 1;
const PDE = 2;
const PTE = 3;
const ACCESSED = 1 << 8;
const DIRTY = 1 << 9;
const RWX = 7;
const RW = 3;
const RX = 5;
const RO = 1;

interface Fixture {
  memory: PhysicalMemory;
  b: EptBuilder;
  ept: Ept;
  /** Rewrites the low dword of an entry through `f`. */
  poke(gpa: number, level: 0 | 1 | 2 | 3, f: (lo: number) => number): void;
  pokeHi(gpa: number, level: 0 | 1 | 2 | 3, hi: number): void;
  lo(gpa: number, level: 0 | 1 | 2 | 3): number;
}

/** Tables live from 8 MiB up; guest memory below. */
function setup(ad = false): Fixture {
  const memory = new PhysicalMemory(16 << 20);
  let next = 0x80_0000;
  const b = new EptBuilder(memory, () => {
    const page = next;
    next += 0x1000;
    return page;
  });
  const ept = new Ept(memory);
  ept.setPointer(b.eptpLo(ad), 0);
  const at = (gpa: number, level: 0 | 1 | 2 | 3): number => {
    const a = b.entryAddress(gpa, level);
    if (a < 0) throw new Error(`no entry for ${gpa.toString(16)} at level ${level}`);
    return a;
  };
  return {
    memory,
    b,
    ept,
    poke: (gpa, level, f) => memory.write(at(gpa, level), 4, f(memory.peek(at(gpa, level), 4))),
    pokeHi: (gpa, level, hi) => memory.write(at(gpa, level) + 4, 4, hi),
    lo: (gpa, level) => memory.peek(at(gpa, level), 4),
  };
}

function expectViolation(ept: Ept, gpa: number, access: EptAccess, qual: number, paging = false): void {
  expect(ept.translate(gpa, access, paging)).toBe(-1);
  expect(ept.result).toBe(EptResult.Violation);
  expect(ept.faultGpa).toBe(gpa >>> 0);
  expect(ept.qualification).toBe(qual);
}

function expectMisconfig(ept: Ept, gpa: number, access = EptAccess.Read): void {
  expect(ept.translate(gpa, access, false)).toBe(-1);
  expect(ept.result).toBe(EptResult.Misconfig);
  expect(ept.faultGpa).toBe(gpa >>> 0);
}

describe('IA32_VMX_EPT_VPID_CAP', () => {
  it('reports 4-level, UC/WB, 2M, INVEPT with both types, A/D; no execute-only, 1G, advanced info or INVVPID', () => {
    expect(EPT_VPID_CAP_LO >>> 0).toBe(0x0631_4140);
    expect(EPT_VPID_CAP_LO & 1).toBe(0);
    expect(EPT_VPID_CAP_LO & (1 << 17)).toBe(0);
    expect(EPT_VPID_CAP_LO & (1 << 22)).toBe(0);
    expect(EPT_VPID_CAP_HI).toBe(0);
  });
});

describe('EPT translation (SDM 29.3.2)', () => {
  it('identity 4K mapping keeps the page offset', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x5000, RWX);
    expect(ept.translate(0x5123, EptAccess.Read, false)).toBe(0x5123);
    expect(ept.result).toBe(EptResult.Ok);
  });

  it('non-identity 4K mapping', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    b.map4k(0x4000_0000, 0x7000, RW); // PDPT index 1
    expect(ept.translate(0x5fff, EptAccess.Write, false)).toBe(0x9fff);
    expect(ept.translate(0x4000_0abc, EptAccess.Read, false)).toBe(0x7abc);
  });

  it('identity and non-identity 2 MiB mappings take GPA bits 20:0 as the offset', () => {
    const { b, ept } = setup();
    b.map2m(0x20_0000, 0x20_0000, RWX);
    b.map2m(0x60_0000, 0xa0_0000, RWX);
    expect(ept.translate(0x21_2345, EptAccess.Fetch, false)).toBe(0x21_2345);
    expect(ept.translate(0x61_2345, EptAccess.Read, false)).toBe(0xa1_2345);
    expect(ept.translate(0x7f_fffc, EptAccess.Write, false)).toBe(0xbf_fffc);
  });

  it('returns HPAs at or above 2 GiB as unsigned numbers', () => {
    const { b, ept } = setup();
    b.map4k(0x3000, 0xfee0_0000, RW);
    b.map2m(0xc000_0000 | 0, 0xe000_0000 | 0, RW);
    expect(ept.translate(0x3030, EptAccess.Read, false)).toBe(0xfee0_0030);
    expect(ept.translate(0xc010_0004 | 0, EptAccess.Write, false)).toBe(0xe010_0004);
    expect(ept.translate(0xc010_0008 | 0, EptAccess.Write, false)).toBe(0xe010_0008); // TLB hit
  });

  it('ignores entry bits 62:52 and 63, bit 7 of a PTE, bits 11:10 and the A/D bits of non-leaves', () => {
    const { b, ept, poke, pokeHi } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    pokeHi(0x5000, PTE, 0xfff0_0000 | 0);
    pokeHi(0x5000, PDE, 0x8000_0000 | 0);
    poke(0x5000, PTE, (lo) => lo | 0x80 | 0xc00);
    poke(0x5000, PDE, (lo) => lo | 0xf00);
    expect(ept.translate(0x5004, EptAccess.Read, false)).toBe(0x9004);
  });

  it('accepts leaf memory types 0, 1, 4, 5 and 6', () => {
    const { b, ept } = setup();
    const types = [0, 1, 4, 5, 6];
    types.forEach((t, i) => b.map4k(0x1000 * (i + 1), 0x1000 * (i + 1), RW, t));
    types.forEach((_, i) => expect(ept.translate(0x1000 * (i + 1), EptAccess.Read, false)).toBe(0x1000 * (i + 1)));
  });

  it('a table outside RAM reads as all-ones: bits 51:32 set, so a misconfiguration', () => {
    const memory = new PhysicalMemory(16 << 20);
    const ept = new Ept(memory);
    ept.setPointer(0x0200_0000 | 0x1e, 0);
    expectMisconfig(ept, 0x1000);
  });
});

describe('EPT misconfigurations (SDM 29.3.3.1)', () => {
  it('bits 2:0 = 010b (write-only)', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PTE, (lo) => (lo & ~7) | 2);
    expectMisconfig(ept, 0x5008);
  });

  it('bits 2:0 = 110b (write/execute)', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PDE, (lo) => (lo & ~7) | 6);
    expectMisconfig(ept, 0x5008);
  });

  it('bits 2:0 = 100b (execute-only) since IA32_VMX_EPT_VPID_CAP[0] = 0', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, 4);
    expectMisconfig(ept, 0x5008, EptAccess.Fetch);
  });

  it('PML4E bits 7:3 are reserved', () => {
    for (const bit of [3, 4, 5, 6]) {
      const { b, ept, poke } = setup();
      b.map4k(0x5000, 0x9000, RWX);
      poke(0x5000, PML4E, (lo) => lo | (1 << bit));
      expectMisconfig(ept, 0x5000);
    }
  });

  it('PML4E bit 7 is reserved', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PML4E, (lo) => lo | 0x80);
    expectMisconfig(ept, 0x5000);
  });

  it('PDPTE bit 7 (1 GiB page) is reserved since IA32_VMX_EPT_VPID_CAP[17] = 0', () => {
    const { ept, memory, b } = setup();
    // A well-formed 1 GiB leaf at GPA 0: WB, RWX, page frame 0.
    memory.write(b.pml4, 4, 0x80_1000 | RWX);
    memory.write(0x80_1000, 4, 0x80 | (6 << 3) | RWX);
    expectMisconfig(ept, 0x1234);
  });

  it('non-leaf PDPTE bits 6:3 are reserved', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PDPTE, (lo) => lo | (1 << 6));
    expectMisconfig(ept, 0x5000);
  });

  it('non-leaf PDE bits 6:3 are reserved', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PDE, (lo) => lo | (1 << 3));
    expectMisconfig(ept, 0x5000);
  });

  it('2 MiB leaf bits 20:12 are reserved', () => {
    for (const bit of [12, 20]) {
      const { b, ept, poke } = setup();
      b.map2m(0x20_0000, 0x40_0000, RWX);
      poke(0x20_0000, PDE, (lo) => lo | (1 << bit));
      expectMisconfig(ept, 0x20_1000);
    }
  });

  it('leaf memory types 2, 3 and 7 are reserved (PTE and 2 MiB PDE)', () => {
    for (const t of [2, 3, 7]) {
      const { b, ept } = setup();
      b.map4k(0x5000, 0x9000, RWX, t);
      b.map2m(0x20_0000, 0x40_0000, RWX, t);
      expectMisconfig(ept, 0x5000);
      expectMisconfig(ept, 0x20_0000);
    }
  });

  it('bits 51:32 (beyond MAXPHYADDR = 32) are reserved at every level', () => {
    for (const level of [PML4E, PDPTE, PDE, PTE] as const) {
      for (const hi of [1, 1 << 19]) {
        const { b, ept, pokeHi } = setup();
        b.map4k(0x5000, 0x9000, RWX);
        pokeHi(0x5000, level, hi);
        expectMisconfig(ept, 0x5000);
      }
    }
  });

  it('is found during the walk, before the permission check and before a later not-present entry', () => {
    const { b, ept, poke, memory } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PDE, (lo) => (lo & ~7) | RO); // a write would be a violation...
    poke(0x5000, PTE, (lo) => (lo & ~0x38) | (2 << 3)); // ...but the leaf's memory type is reserved
    expectMisconfig(ept, 0x5000, EptAccess.Write);
    b.map4k(0x20_0000, 0x9000, RWX);
    poke(0x20_0000, PDPTE, (lo) => lo | (1 << 4));
    memory.write(b.entryAddress(0x20_0000, PTE), 4, 0); // not present below the misconfigured PDPTE
    expectMisconfig(ept, 0x20_0000);
  });

  it('are not cached: fixing the entry needs no INVEPT (SDM 29.4.2)', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PTE, (lo) => (lo & ~7) | 2);
    expectMisconfig(ept, 0x5000);
    poke(0x5000, PTE, (lo) => (lo & ~7) | RW);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0x9000);
  });
});

describe('EPT violations (SDM 29.3.3.2) and their qualification (SDM Table 28-7)', () => {
  it('write to a read-only page: bit 1, R in bits 5:3', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RO);
    expectViolation(ept, 0x5010, EptAccess.Write, 0b010 | (RO << 3));
  });

  it('fetch from a non-executable page: bit 2, RW in bits 5:3', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RW);
    expectViolation(ept, 0x5010, EptAccess.Fetch, 0b100 | (RW << 3));
  });

  it('fetch from a non-executable 2 MiB page', () => {
    const { b, ept } = setup();
    b.map2m(0x20_0000, 0x40_0000, RO);
    expectViolation(ept, 0x21_0000, EptAccess.Fetch, 0b100 | (RO << 3));
  });

  it('bits 5:3 are the AND over every entry walked: a read-only PDE denies a write to an RWX PTE', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    poke(0x5000, PDE, (lo) => (lo & ~7) | RX);
    expectViolation(ept, 0x5000, EptAccess.Write, 0b010 | (RX << 3));
    poke(0x5000, PDE, (lo) => (lo & ~7) | RW);
    poke(0x5000, PML4E, (lo) => (lo & ~7) | RX);
    expectViolation(ept, 0x5000, EptAccess.Fetch, 0b100 | (RO << 3));
  });

  it('not present at each level: bits 5:3 are 0', () => {
    // PML4E: an empty PML4.
    let f = setup();
    expectViolation(f.ept, 0x5000, EptAccess.Read, 0b001);
    // PDPTE: only the second GiB is mapped.
    f = setup();
    f.b.map4k(0x4000_0000, 0x9000, RWX);
    expectViolation(f.ept, 0x5000, EptAccess.Write, 0b010);
    // PDE: only the second 2 MiB is mapped.
    f = setup();
    f.b.map4k(0x20_0000, 0x9000, RWX);
    expectViolation(f.ept, 0x40_0000, EptAccess.Fetch, 0b100);
    // PTE: a neighbour is mapped.
    f = setup();
    f.b.map4k(0x1000, 0x9000, RWX);
    expectViolation(f.ept, 0x2004, EptAccess.Read, 0b001);
    // After unmap.
    f.b.unmap(0x1000);
    expectViolation(f.ept, 0x1000, EptAccess.Read, 0b001);
  });

  it('not-present entries are not cached: mapping the page needs no INVEPT', () => {
    const { b, ept } = setup();
    b.map4k(0x1000, 0x9000, RWX);
    expectViolation(ept, 0x2000, EptAccess.Read, 0b001);
    b.map4k(0x2000, 0xa000, RWX);
    expect(ept.translate(0x2000, EptAccess.Read, false)).toBe(0xa000);
  });

  it('guest paging-structure reads without A/D are data reads', () => {
    const { b, ept, lo } = setup(false);
    b.map4k(0x5000, 0x9000, RO);
    expect(ept.translate(0x5ffc, EptAccess.Read, true)).toBe(0x9ffc);
    expect(lo(0x5000, PTE) & (ACCESSED | DIRTY)).toBe(0);
    // The CPU's write of a guest A/D bit is a data write.
    expectViolation(ept, 0x5ffc, EptAccess.Write, 0b010 | (RO << 3), true);
  });

  it('with A/D on, guest paging-structure accesses are writes: W needed, bits 0 and 1 both set', () => {
    const { b, ept } = setup(true);
    b.map4k(0x5000, 0x9000, RX);
    expectViolation(ept, 0x5ffc, EptAccess.Read, 0b011 | (RX << 3), true);
    // An ordinary read of the same page is allowed.
    expect(ept.translate(0x5ffc, EptAccess.Read, false)).toBe(0x9ffc);
  });
});

describe('EPT accessed and dirty flags (SDM 29.3.5)', () => {
  it('enabled: a read sets A on every entry walked and leaves D clear', () => {
    const { b, ept, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RWX);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0x9000);
    for (const level of [PML4E, PDPTE, PDE, PTE] as const) expect(lo(0x5000, level) & ACCESSED).toBe(ACCESSED);
    expect(lo(0x5000, PTE) & DIRTY).toBe(0);
    expect(ept.lastWritable).toBe(false);
  });

  it('enabled: a write sets D on the leaf only', () => {
    const { b, ept, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RWX);
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    expect(lo(0x5000, PTE) & (ACCESSED | DIRTY)).toBe(ACCESSED | DIRTY);
    expect(lo(0x5000, PDE) & DIRTY).toBe(0); // bit 9 of a non-leaf is ignored, not the dirty flag
    expect(ept.lastWritable).toBe(true);
  });

  it('enabled: a 2 MiB leaf gets A and D; there is no PTE', () => {
    const { b, ept, lo } = setup(true);
    b.map2m(0x20_0000, 0x40_0000, RWX);
    expect(ept.translate(0x20_0040, EptAccess.Write, false)).toBe(0x40_0040);
    expect(lo(0x20_0000, PDE) & (ACCESSED | DIRTY)).toBe(ACCESSED | DIRTY);
    expect(lo(0x20_0000, PDPTE) & ACCESSED).toBe(ACCESSED);
    expect(lo(0x20_0000, PML4E) & ACCESSED).toBe(ACCESSED);
  });

  it('enabled: a guest paging-structure read sets D on the leaf that maps it', () => {
    const { b, ept, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RW);
    expect(ept.translate(0x5008, EptAccess.Read, true)).toBe(0x9008);
    expect(lo(0x5000, PTE) & (ACCESSED | DIRTY)).toBe(ACCESSED | DIRTY);
  });

  it('disabled: nothing in the tables changes, even bits 8 and 9', () => {
    const { b, ept, memory } = setup(false);
    b.map4k(0x5000, 0x9000, RWX);
    b.map2m(0x20_0000, 0x40_0000, RWX);
    const before = memory.readBytes(0x80_0000, 0x10000)!;
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    expect(ept.translate(0x20_0000, EptAccess.Write, true)).toBe(0x40_0000);
    expect(ept.translate(0x20_0000, EptAccess.Fetch, false)).toBe(0x40_0000);
    expect(memory.readBytes(0x80_0000, 0x10000)).toEqual(before);
    expect(ept.lastWritable).toBe(true);
  });

  it('a write after a cached read still sets D (the cached entry had D clear)', () => {
    const { b, ept, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RWX);
    ept.translate(0x5000, EptAccess.Read, false);
    expect(ept.translate(0x5004, EptAccess.Read, false)).toBe(0x9004);
    expect(ept.hits).toBe(1);
    expect(lo(0x5000, PTE) & DIRTY).toBe(0);
    expect(ept.translate(0x5008, EptAccess.Write, false)).toBe(0x9008);
    expect(ept.walks).toBe(2);
    expect(lo(0x5000, PTE) & DIRTY).toBe(DIRTY);
    // Now D is set: further writes are hits.
    expect(ept.translate(0x500c, EptAccess.Write, false)).toBe(0x900c);
    expect(ept.walks).toBe(2);
  });

  it('software clearing D is seen after INVEPT (SDM 29.4.3.4: INVEPT after clearing bit 9)', () => {
    const { b, ept, poke, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RWX);
    ept.translate(0x5000, EptAccess.Write, false);
    poke(0x5000, PTE, (v) => v & ~DIRTY);
    ept.invalidate(b.eptpLo(true), 0);
    ept.translate(0x5000, EptAccess.Write, false);
    expect(lo(0x5000, PTE) & DIRTY).toBe(DIRTY);
  });

  it('a violation sets no dirty flag', () => {
    const { b, ept, lo } = setup(true);
    b.map4k(0x5000, 0x9000, RO);
    expectViolation(ept, 0x5000, EptAccess.Write, 0b010 | (RO << 3));
    expect(lo(0x5000, PTE) & DIRTY).toBe(0);
  });
});

describe('EPT TLB and INVEPT (SDM 29.4)', () => {
  it('a second access to the page is a hit with the same result', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RX);
    expect(ept.translate(0x5000, EptAccess.Fetch, false)).toBe(0x9000);
    expect(ept.lastExecutable).toBe(true);
    expect(ept.lastWritable).toBe(false);
    expect(ept.translate(0x5ffe, EptAccess.Read, false)).toBe(0x9ffe);
    expect(ept.lastExecutable).toBe(true);
    expect(ept.lastWritable).toBe(false);
    expect([ept.walks, ept.hits]).toEqual([1, 1]);
    // A cached page still denies what the walk denies.
    expectViolation(ept, 0x5000, EptAccess.Write, 0b010 | (RX << 3));
  });

  it('a change to the tables is not seen before INVEPT and is seen after (all-context)', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    b.map4k(0x5000, 0xa000, RWX);
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    ept.invalidate();
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0xa000);
    b.unmap(0x5000);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0xa000);
    ept.invalidate();
    expectViolation(ept, 0x5000, EptAccess.Read, 0b001);
  });

  it('single-context INVEPT flushes the current EPTP (matched on bits 51:12), not another', () => {
    const { b, ept } = setup(true);
    b.map4k(0x5000, 0x9000, RWX);
    ept.translate(0x5000, EptAccess.Write, false);
    b.map4k(0x5000, 0xa000, RWX);
    ept.invalidate(0x0012_3000 | 0x1e, 0);
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    ept.invalidate(b.eptpLo(false), 0); // same PML4 address, other low bits
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0xa000);
  });

  it('setPointer with a different EPTP flushes; with the same EPTP it does not', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RWX);
    ept.translate(0x5000, EptAccess.Read, false);
    b.map4k(0x5000, 0xa000, RWX);
    ept.setPointer(b.eptpLo(false), 0);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0x9000);
    ept.setPointer(b.eptpLo(true), 0);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0xa000);
  });

  it('an EPT violation drops the cached mapping of its GPA (SDM 29.4.3.1)', () => {
    const { b, ept } = setup();
    b.map4k(0x5000, 0x9000, RO);
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0x9000);
    b.map4k(0x5000, 0xa000, RO);
    expectViolation(ept, 0x5000, EptAccess.Write, 0b010 | (RO << 3));
    expect(ept.translate(0x5000, EptAccess.Read, false)).toBe(0xa000);
  });

  it('a permission raised in the tables is used by the access that needs it (no stale denial)', () => {
    const { b, ept, poke } = setup();
    b.map4k(0x5000, 0x9000, RO);
    ept.translate(0x5000, EptAccess.Read, false);
    poke(0x5000, PTE, (lo) => lo | RWX);
    expect(ept.translate(0x5000, EptAccess.Write, false)).toBe(0x9000);
    expect(ept.translate(0x5000, EptAccess.Fetch, false)).toBe(0x9000);
  });

  it('flushing after many pages clears them all', () => {
    const { b, ept } = setup();
    for (let p = 0; p < 5000; p++) b.map4k(p * 0x1000, 0x40_0000 + (p & 0xff) * 0x1000, RW);
    for (let p = 0; p < 5000; p++) ept.translate(p * 0x1000, EptAccess.Read, false);
    ept.invalidate();
    const walks = ept.walks;
    ept.translate(0, EptAccess.Read, false);
    ept.translate(4999 * 0x1000, EptAccess.Read, false);
    expect(ept.walks).toBe(walks + 2);
  });
});

describe('eptPointerProblem (SDM 27.2.1.1)', () => {
  const pml4 = 0x0080_0000;

  it('accepts WB and UC, 4-level, with or without A/D', () => {
    expect(eptPointerProblem(pml4 | 0x1e, 0)).toBeNull();
    expect(eptPointerProblem(pml4 | 0x18, 0)).toBeNull();
    expect(eptPointerProblem(pml4 | 0x5e, 0)).toBeNull();
  });

  it('rejects memory types other than UC (0) and WB (6)', () => {
    for (const t of [1, 2, 3, 4, 5, 7]) expect(eptPointerProblem(pml4 | 0x18 | t, 0)).toBe('EPTP memory type');
  });

  it('rejects page-walk lengths other than 4 (5-level not supported)', () => {
    for (const l of [0, 1, 2, 4, 5, 6, 7]) expect(eptPointerProblem(pml4 | (l << 3) | 6, 0)).toBe('EPTP page-walk length');
  });

  it('rejects bits 11:7 and 63:32', () => {
    for (const bit of [7, 8, 9, 10, 11]) expect(eptPointerProblem(pml4 | 0x1e | (1 << bit), 0)).toBe('EPTP reserved bits');
    expect(eptPointerProblem(pml4 | 0x1e, 1)).toBe('EPTP reserved bits');
    expect(eptPointerProblem(pml4 | 0x1e, 0x8000_0000 | 0)).toBe('EPTP reserved bits');
  });
});
