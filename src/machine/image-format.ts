// Parsing a kernel image into a load plan: the multiboot v1 header search, the a.out kludge, and ELF32.
// Nothing here touches guest memory; multiboot.ts checks the plan against RAM and copies it.

import { hex } from '../core/bus.js';

export const MULTIBOOT_MAGIC = 0x1badb002;
/** Multiboot header flags (devices.md 4.1). */
export const MB_PAGE_ALIGN = 1 << 0;
export const MB_MEMORY_INFO = 1 << 1;
export const MB_VIDEO_MODE = 1 << 2;
export const MB_AOUT_KLUDGE = 1 << 16;
const MB_SUPPORTED_REQUIRED = MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE;
/** The header must lie in the first 8192 bytes of the image. */
const HEADER_SEARCH_BYTES = 8192;

/** The ELF loader's limit: real kernels have a handful of program headers. */
export const MAX_PROGRAM_HEADERS = 256;

/** One piece of the image to place in guest RAM: file bytes, then zeros up to memBytes. */
export interface LoadSegment {
  gpa: number;
  fileOffset: number;
  fileBytes: number;
  memBytes: number;
  /** How errors name it: "ELF segment 1" or "a.out kludge image". */
  label: string;
}

export type ParseResult =
  | { ok: true; format: 'aout-kludge' | 'elf32'; entry: number; segments: LoadSegment[]; headerFlags: number; warnings: string[] }
  | { ok: false; error: string };

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/** Finds the multiboot header (4-byte aligned, in the first 8 KiB, checksum valid). Returns its offset or an error. */
export function findMultibootHeader(image: Uint8Array): { offset: number } | { error: string } {
  const end = Math.min(image.length, HEADER_SEARCH_BYTES);
  let badChecksum = -1;
  for (let o = 0; o + 12 <= end; o += 4) {
    if (u32(image, o) !== MULTIBOOT_MAGIC) continue;
    if (((MULTIBOOT_MAGIC + u32(image, o + 4) + u32(image, o + 8)) | 0) === 0) return { offset: o };
    if (badChecksum < 0) badChecksum = o;
  }
  if (badChecksum >= 0) return { error: `multiboot header checksum mismatch (magic at offset ${hex(badChecksum)})` };
  return { error: 'no multiboot header in the first 8 KiB' };
}

/** Parses an image into a load plan (devices.md 4.1); every failure is one line, nothing throws. */
export function parseKernelImage(image: Uint8Array): ParseResult {
  if (image.length === 0) return { ok: false, error: 'image is 0 bytes' };
  const found = findMultibootHeader(image);
  if ('error' in found) return { ok: false, error: found.error };
  const h = found.offset;
  const flags = u32(image, h + 4);
  const unknown = flags & 0xffff & ~MB_SUPPORTED_REQUIRED;
  if (unknown !== 0) {
    return { ok: false, error: `multiboot header requires unsupported features (flags ${hex(flags, 8)}, unknown required bits ${hex(unknown, 4)})` };
  }
  const warnings: string[] = [];
  // QEMU warns and boots anyway: there is no framebuffer to describe.
  if (flags & MB_VIDEO_MODE) warnings.push('multiboot header asks for a video mode (flags bit 2): ignored, as QEMU does');
  const parsed = flags & MB_AOUT_KLUDGE ? parseAoutKludge(image, h) : parseElf32(image);
  if (!parsed.ok) return parsed;
  return { ...parsed, headerFlags: flags, warnings };
}

type Plan = { ok: true; format: 'aout-kludge' | 'elf32'; entry: number; segments: LoadSegment[] } | { ok: false; error: string };

/** The a.out kludge: header_addr/load_addr/load_end_addr/bss_end_addr/entry_addr (devices.md 4.1). */
function parseAoutKludge(image: Uint8Array, h: number): Plan {
  if (h + 32 > image.length) return { ok: false, error: `multiboot header at offset ${hex(h)} is truncated (a.out kludge fields need 32 bytes)` };
  const headerAddr = u32(image, h + 12);
  const loadAddr = u32(image, h + 16);
  const loadEndAddr = u32(image, h + 20);
  const bssEndAddr = u32(image, h + 24);
  const entryAddr = u32(image, h + 28);
  if (loadAddr > headerAddr) return { ok: false, error: `a.out kludge: load_addr ${hex(loadAddr)} is above header_addr ${hex(headerAddr)}` };
  const fileOffset = h - (headerAddr - loadAddr);
  if (fileOffset < 0) {
    return { ok: false, error: `a.out kludge: header_addr - load_addr = ${hex(headerAddr - loadAddr)} reaches before the start of the file` };
  }
  let loadBytes: number;
  if (loadEndAddr === 0) {
    loadBytes = image.length - fileOffset;
  } else {
    if (loadEndAddr < loadAddr) return { ok: false, error: `a.out kludge: load_end_addr ${hex(loadEndAddr)} is below load_addr ${hex(loadAddr)}` };
    loadBytes = loadEndAddr - loadAddr;
    if (fileOffset + loadBytes > image.length) {
      return {
        ok: false,
        error: `a.out kludge: load range [${hex(loadAddr)}-${hex(loadEndAddr)}) needs ${loadBytes} bytes from file offset ${hex(fileOffset)} but the image has ${image.length}`,
      };
    }
  }
  let memBytes = loadBytes;
  if (bssEndAddr !== 0) {
    if (bssEndAddr < loadAddr + loadBytes) {
      return { ok: false, error: `a.out kludge: bss_end_addr ${hex(bssEndAddr)} is below the end of the loaded data ${hex(loadAddr + loadBytes)}` };
    }
    memBytes = bssEndAddr - loadAddr;
  }
  if (loadAddr + memBytes > 0x1_0000_0000) return { ok: false, error: `a.out kludge: image [${hex(loadAddr)}+${hex(memBytes)}) wraps past 4 GiB` };
  if (memBytes === 0) return { ok: false, error: 'a.out kludge: nothing to load (load size 0)' };
  if (entryAddr < loadAddr || entryAddr >= loadAddr + memBytes) {
    return { ok: false, error: `entry point ${hex(entryAddr)} lies outside the loaded image [${hex(loadAddr)}-${hex(loadAddr + memBytes)})` };
  }
  const segment: LoadSegment = { gpa: loadAddr, fileOffset, fileBytes: loadBytes, memBytes, label: 'a.out kludge image' };
  return { ok: true, format: 'aout-kludge', entry: entryAddr, segments: [segment] };
}

const ELF_HEADER_BYTES = 52;
const PHDR_BYTES = 32;
const PT_LOAD = 1;
const ET_EXEC = 2;
const EM_386 = 3;

/** ELF32 little-endian i386 executables: PT_LOAD segments at p_paddr (System V ABI, i386 supplement). */
function parseElf32(image: Uint8Array): Plan {
  if (image.length < 4 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) {
    return { ok: false, error: 'multiboot header has no a.out kludge (flags bit 16) and the image is not ELF' };
  }
  if (image.length < ELF_HEADER_BYTES) return { ok: false, error: `ELF header truncated (${image.length} bytes, need ${ELF_HEADER_BYTES})` };
  if (image[4] !== 1) return { ok: false, error: `ELF class ${image[4]} is not ELF32${image[4] === 2 ? ' (64-bit kernels are refused, as QEMU does)' : ''}` };
  if (image[5] !== 1) return { ok: false, error: `ELF data encoding ${image[5]} is not little-endian` };
  const type = u16(image, 16);
  if (type !== ET_EXEC) return { ok: false, error: `ELF type ${type} is not an executable (ET_EXEC)` };
  const machine = u16(image, 18);
  if (machine !== EM_386) return { ok: false, error: `ELF machine ${machine} is not i386` };
  let entry = u32(image, 24);
  const phoff = u32(image, 28);
  const phentsize = u16(image, 42);
  const phnum = u16(image, 44);
  if (phnum === 0) return { ok: false, error: 'ELF has no program headers' };
  if (phnum > MAX_PROGRAM_HEADERS) return { ok: false, error: `ELF has ${phnum} program headers (at most ${MAX_PROGRAM_HEADERS} accepted)` };
  if (phentsize < PHDR_BYTES) return { ok: false, error: `ELF program header size ${phentsize} is below ${PHDR_BYTES}` };
  if (phoff + phnum * phentsize > image.length) {
    return { ok: false, error: `ELF program headers [${hex(phoff)}+${phnum}x${phentsize}) lie beyond the end of the image (${image.length} bytes)` };
  }
  const segments: LoadSegment[] = [];
  let physicalEntry = -1;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (u32(image, p) !== PT_LOAD) continue;
    const offset = u32(image, p + 4);
    const vaddr = u32(image, p + 8);
    const paddr = u32(image, p + 12);
    const filesz = u32(image, p + 16);
    const memsz = u32(image, p + 20);
    const label = `ELF segment ${i}`;
    if (filesz > memsz) return { ok: false, error: `${label}: p_filesz ${hex(filesz)} exceeds p_memsz ${hex(memsz)}` };
    if (offset + filesz > image.length) {
      return { ok: false, error: `${label}: file range [${hex(offset)}-${hex(offset + filesz)}) lies beyond the end of the image (${image.length} bytes)` };
    }
    if (paddr + memsz > 0x1_0000_0000) return { ok: false, error: `${label} [${hex(paddr)}+${hex(memsz)}) wraps past 4 GiB` };
    if (memsz === 0) continue;
    segments.push({ gpa: paddr, fileOffset: offset, fileBytes: filesz, memBytes: memsz, label });
    // A kernel linked high gives a virtual e_entry: translate it through the segment that holds it (as QEMU does).
    if (physicalEntry < 0 && entry >= vaddr && entry - vaddr < memsz) physicalEntry = paddr + (entry - vaddr);
  }
  if (segments.length === 0) return { ok: false, error: 'ELF has no loadable (PT_LOAD) segment' };
  if (physicalEntry < 0) {
    const inPhysical = segments.some((s) => entry >= s.gpa && entry - s.gpa < s.memBytes);
    if (!inPhysical) return { ok: false, error: `ELF entry point ${hex(entry)} lies outside the loaded segments` };
    physicalEntry = entry;
  }
  entry = physicalEntry >>> 0;
  return { ok: true, format: 'elf32', entry, segments };
}
