// Tests of the multiboot loader: the peer bench images, the MBI it builds, and many hostile images.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/core/physical-memory.js';
import { loadMultiboot, memoryMap } from '../../src/machine/multiboot.js';
import { MB_MAGIC, aoutImage, elfImage } from '../helpers/images.js';

const BENCH = process.env.EXITLESS_BENCH_DIR ?? new URL('../../../shared/bench/', import.meta.url).pathname;
const MiB = 1 << 20;

function load(image: Uint8Array, ram = 16 * MiB, options = {}) {
  const memory = new PhysicalMemory(ram);
  return { memory, result: loadMultiboot(image, memory, options) };
}

function errorOf(image: Uint8Array, ram = 16 * MiB): string {
  const { result, memory } = load(image, ram);
  expect(result.ok).toBe(false);
  if (result.ok) return '';
  expect(result.error).not.toContain('\n');
  expect(memory.u8.every((b) => b === 0), 'a refused image must leave RAM untouched').toBe(true);
  return result.error;
}

describe('multiboot loader on the bench images', () => {
  it('loads w1-tiny.bin through the a.out kludge at 1 MiB', () => {
    const image = new Uint8Array(readFileSync(BENCH + 'w1-tiny.bin'));
    const { result, memory } = load(image);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.format).toBe('aout-kludge');
    expect(result.entry).toBe(0x100020);
    expect(memory.u8.subarray(0x100000, 0x100000 + image.length)).toEqual(image);
    expect(result.mbiAddress).toBe(0x9000);
  });

  it('loads w1-tiny.elf through its program headers and agrees with the flat image', () => {
    const elf = load(new Uint8Array(readFileSync(BENCH + 'w1-tiny.elf')));
    const flat = load(new Uint8Array(readFileSync(BENCH + 'w1-tiny.bin')));
    expect(elf.result.ok && elf.result.format).toBe('elf32');
    if (!elf.result.ok || !flat.result.ok) return;
    expect(elf.result.entry).toBe(flat.result.entry);
    // Identical bytes except the multiboot flags and checksum (flags 0 in the ELF, 0x10000 in the flat image).
    expect(elf.memory.u8.subarray(0x10000c, 0x103000)).toEqual(flat.memory.u8.subarray(0x10000c, 0x103000));
  });
});

describe('the multiboot information structure', () => {
  it('has mem, mmap and boot loader name, plus cmdline and mods when given', () => {
    const { result, memory } = load(aoutImage(), 32 * MiB, {
      cmdline: 'kernel.bin verbose',
      modules: [
        { name: 'env.txt A=1', data: new TextEncoder().encode('A=1\n') },
        { name: 'blob', data: new Uint8Array(5000).fill(7) },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const v = memory.view;
    const mbi = result.mbiAddress;
    const cstring = (gpa: number): string => {
      let s = '';
      while (memory.u8[gpa] !== 0) s += String.fromCharCode(memory.u8[gpa++]);
      return s;
    };
    expect(v.getUint32(mbi, true)).toBe(0x241 | 0x4 | 0x8);
    expect(v.getUint32(mbi + 4, true)).toBe(639);
    expect(v.getUint32(mbi + 8, true)).toBe(31 * 1024);
    expect(cstring(v.getUint32(mbi + 16, true))).toBe('kernel.bin verbose');
    expect(cstring(v.getUint32(mbi + 64, true))).toBe('exitless');
    expect(v.getUint32(mbi + 20, true)).toBe(2);
    const mods = v.getUint32(mbi + 24, true);
    const m0 = v.getUint32(mods, true);
    expect(m0 % 4096).toBe(0);
    expect(m0).toBeGreaterThanOrEqual(0x100000 + 34);
    expect(v.getUint32(mods + 4, true) - m0).toBe(4);
    expect(cstring(v.getUint32(mods + 8, true))).toBe('env.txt A=1');
    expect(cstring(m0)).toBe('A=1\n');
    const m1 = v.getUint32(mods + 16, true);
    expect(m1 % 4096).toBe(0);
    expect(m1).toBeGreaterThanOrEqual(m0 + 4);
    expect(memory.u8[m1 + 4999]).toBe(7);
    // Walk the memory map by each entry's own size field, as a kernel must.
    const length = v.getUint32(mbi + 44, true);
    let e = v.getUint32(mbi + 48, true);
    const entries: [number, number, number][] = [];
    while (e < v.getUint32(mbi + 48, true) + length) {
      entries.push([v.getUint32(e + 4, true), v.getUint32(e + 12, true), v.getUint32(e + 20, true)]);
      e += v.getUint32(e, true) + 4;
    }
    expect(entries).toEqual(memoryMap(32 * MiB).map((m) => [m.base, m.length, m.type]));
    expect(entries[3]).toEqual([0x100000, 31 * MiB, 1]);
  });

  it('leaves out cmdline and mods when none are given', () => {
    const { result, memory } = load(aoutImage());
    expect(result.ok && memory.view.getUint32(result.mbiAddress, true)).toBe(0x241);
  });

  it('moves the MBI above the image when a kernel occupies 0x9000', () => {
    const { result } = load(aoutImage({ loadAddr: 0x8000, code: new Array(0x3000).fill(0x90) }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.mbiAddress).toBe(0xc000);
    const ranges = result.loadedRanges;
    for (const a of ranges) for (const b of ranges) if (a !== b) expect(a.gpa + a.bytes <= b.gpa || b.gpa + b.bytes <= a.gpa).toBe(true);
  });

  it('zero-fills bss and ELF p_memsz beyond p_filesz', () => {
    const memory = new PhysicalMemory(16 * MiB);
    memory.fill(0x200000, 0x3000, 0xcc);
    const image = elfImage({ entry: 0x200000, segments: [{ paddr: 0x200000, data: [0xf4, 0xeb, 0xfd], memsz: 0x2000 }] });
    const result = loadMultiboot(image, memory);
    expect(result.ok).toBe(true);
    expect(memory.u8[0x200003]).toBe(0);
    expect(memory.u8[0x201fff]).toBe(0);
    expect(memory.u8[0x202000]).toBe(0xcc);
  });

  it('translates a virtual ELF entry point through its segment', () => {
    const image = elfImage({ entry: 0xc0100000, segments: [{ paddr: 0x100000, vaddr: 0xc0100000, data: [0xf4] }] });
    const { result } = load(image);
    expect(result.ok && result.entry).toBe(0x100000);
  });

  it('accepts the video-mode flag with a warning, as QEMU does', () => {
    const { result } = load(aoutImage({ flags: 0x10004 }));
    expect(result.ok && result.warnings.length).toBe(1);
  });
});

describe('hostile images give one line, never a throw, never a write', () => {
  const cases: [string, () => Uint8Array, RegExp, number?][] = [
    ['empty', () => new Uint8Array(0), /^image is 0 bytes$/],
    ['no header', () => new Uint8Array(9000).fill(0x90), /^no multiboot header in the first 8 KiB$/],
    ['header beyond 8 KiB', () => {
      const b = new Uint8Array(9000);
      b.set(aoutImage().subarray(0, 32), 8192);
      return b;
    }, /no multiboot header/],
    ['bad checksum', () => aoutImage({ patch: { checksum: 1 } }), /checksum mismatch/],
    ['magic only, truncated', () => Uint8Array.of(0x02, 0xb0, 0xad, 0x1b, 0, 0), /no multiboot header/],
    ['unknown required flag', () => aoutImage({ flags: 0x10008 }), /unsupported features.*0x0008/],
    ['a.out fields truncated', () => aoutImage().subarray(0, 20), /truncated/],
    ['load_addr above header_addr', () => aoutImage({ patch: { loadAddr: 0x100100 } }), /load_addr/],
    ['load offset before file start', () => aoutImage({ patch: { loadAddr: 0xff000 } }), /before the start of the file/],
    ['load_end below load_addr', () => aoutImage({ patch: { loadEndAddr: 0x1000 } }), /load_end_addr/],
    ['load_end beyond the file', () => aoutImage({ patch: { loadEndAddr: 0x100000 + 100000 } }), /image has/],
    ['bss_end below load_end', () => aoutImage({ patch: { bssEndAddr: 0x100001 } }), /bss_end_addr/],
    ['image wraps 4 GiB', () => aoutImage({ patch: { headerAddr: 0xfffffff0, loadAddr: 0xfffffff0, loadEndAddr: 0, bssEndAddr: 0 } }), /wraps past 4 GiB/],
    ['image beyond RAM', () => aoutImage({ loadAddr: 0x2000000 }), /outside guest RAM \(16 MiB\)/],
    ['huge bss', () => aoutImage({ bssBytes: 0xf0000000 }), /outside guest RAM/],
    ['entry outside image', () => aoutImage({ patch: { entryAddr: 0x500000 } }), /entry point 0x500000 lies outside/],
    ['flag 16 clear, not ELF', () => aoutImage({ flags: 0 }), /not ELF/],
    ['ELF truncated header', () => elfImage({ entry: 0, segments: [] }).subarray(0, 40), /./],
    ['ELF64', () => elfImage({ entry: 0x100000, elfClass: 2, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /ELF class 2 is not ELF32/],
    ['big-endian', () => elfImage({ entry: 0x100000, dataEncoding: 2, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /little-endian/],
    ['x86-64 machine', () => elfImage({ entry: 0x100000, machine: 62, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /^ELF machine 62 is not i386$/],
    ['shared object', () => elfImage({ entry: 0x100000, type: 3, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /ET_EXEC/],
    ['no program headers', () => elfImage({ entry: 0x100000, segments: [] }), /no program headers/],
    ['thousands of program headers', () => elfImage({ entry: 0x100000, phnum: 3000, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /3000 program headers/],
    ['program headers beyond the file', () => elfImage({ entry: 0x100000, phoff: 0x7ffffff0, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /beyond the end/],
    ['short phentsize', () => elfImage({ entry: 0x100000, phentsize: 8, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /program header size/],
    ['p_offset beyond the file', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4], offset: 0xfffffff0 }] }), /segment 0: file range/],
    ['filesz > memsz', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4, 0, 0, 0], memsz: 2 }] }), /p_filesz 0x4 exceeds p_memsz 0x2/],
    ['segment wraps 4 GiB', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4] }, { paddr: 0xfffff000, data: [1], memsz: 0x10000 }] }), /segment 1 .*wraps/],
    ['segment beyond RAM', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4] }, { paddr: 0x1000000, data: [1] }] }), /^ELF segment 1 \[0x1000000-0x1000001\) lies outside guest RAM \(16 MiB\)$/],
    ['huge memsz', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4], memsz: 0xefff0000 }] }), /outside guest RAM/],
    ['no PT_LOAD', () => elfImage({ entry: 0x100000, segments: [{ paddr: 0x100000, data: [0xf4], type: 4 }] }), /no loadable/],
    ['entry outside segments', () => elfImage({ entry: 0x300000, segments: [{ paddr: 0x100000, data: [0xf4] }] }), /entry point 0x300000 lies outside/],
  ];
  for (const [name, make, pattern] of cases) {
    it(name, () => {
      let image: Uint8Array = new Uint8Array(0);
      expect(() => {
        image = make();
      }).not.toThrow();
      expect(errorOf(image)).toMatch(pattern);
    });
  }

  it('refuses modules that do not fit', () => {
    const { result } = load(aoutImage(), 2 * MiB, { modules: [{ name: 'big', data: new Uint8Array(2 * MiB) }] });
    expect(!result.ok && result.error).toMatch(/^module 0 \(big, 2097152 bytes\) does not fit/);
  });

  it('survives random corruption of a valid image (no throw, RAM writes only inside RAM)', () => {
    const base = new Uint8Array(readFileSync(BENCH + 'w1-tiny.elf'));
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const image = base.slice(0, rand(3) === 0 ? rand(base.length) : base.length);
      for (let k = 0; k < 1 + rand(8); k++) image[rand(Math.min(image.length, 200)) || 0] = rand(256);
      expect(() => load(image, 4 * MiB)).not.toThrow();
    }
    expect(MB_MAGIC).toBe(0x1badb002);
  });
});
