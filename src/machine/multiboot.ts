// The multiboot v1 loader (devices.md 4): checks a parsed image against guest RAM, copies it, places modules,
// and builds the multiboot information structure. Entry-state setup is the CPU's (enterMultibootState).

import { hex } from '../core/bus.js';
import { PAGE_SIZE, type PhysicalMemory } from '../core/physical-memory.js';
import { type LoadSegment, parseKernelImage } from './image-format.js';

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export const BOOT_LOADER_NAME = 'exitless';
/** Where the MBI goes when that does not collide with the image (QEMU uses 0x9000-0x9FFF too). */
export const MBI_LOW_ADDRESS = 0x9000;
/** The end of conventional memory below the EBDA, and of the low MBI area. */
const LOW_RAM_END = 0x9fc00;

/** Multiboot information flags (devices.md 4.3). */
export const enum MbiFlag {
  Memory = 1 << 0,
  Cmdline = 1 << 2,
  Mods = 1 << 3,
  Mmap = 1 << 6,
  BootLoaderName = 1 << 9,
}

/** E820 / multiboot memory map types. */
export const enum MemoryType {
  Available = 1,
  Reserved = 2,
}

export interface MultibootModule {
  /** The module's command line (its file name and arguments, as QEMU's -initrd passes them). */
  name: string;
  data: Uint8Array;
}

export interface MultibootOptions {
  cmdline?: string;
  modules?: readonly MultibootModule[];
  /** The RAM the kernel may use and the memory map reports (a VM's guest RAM); default all of `memory`. */
  ramBytes?: number;
}

export interface LoadedRange {
  gpa: number;
  bytes: number;
  label: string;
}

export type MultibootLoadResult =
  | { ok: true; entry: number; mbiAddress: number; loadedRanges: LoadedRange[]; format: 'aout-kludge' | 'elf32'; warnings: string[] }
  | { ok: false; error: string };

/** RAM size the way error messages name it: "16 MiB", "1 GiB", "4100 KiB". */
export function formatRamSize(bytes: number): string {
  if (bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  return `${Math.floor(bytes / 1024)} KiB`;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function overlaps(a: number, aBytes: number, ranges: readonly LoadedRange[]): boolean {
  return ranges.some((r) => a < r.gpa + r.bytes && r.gpa < a + aBytes);
}

/**
 * Loads a multiboot kernel into `memory`. Validates everything before writing anything, so a refused image
 * leaves RAM untouched; every failure is one line naming what is wrong; nothing throws for any input.
 */
export function loadMultiboot(image: Uint8Array, memory: PhysicalMemory, options: MultibootOptions = {}): MultibootLoadResult {
  const parsed = parseKernelImage(image);
  if (!parsed.ok) return parsed;
  const ram = Math.min(options.ramBytes ?? memory.ramBytes, memory.ramBytes);
  const ramName = formatRamSize(ram);
  const ranges: LoadedRange[] = [];
  for (const s of parsed.segments) {
    if (s.gpa + s.memBytes > ram) {
      return { ok: false, error: `${s.label} [${hex(s.gpa)}-${hex(s.gpa + s.memBytes)}) lies outside guest RAM (${ramName})` };
    }
    ranges.push({ gpa: s.gpa, bytes: s.memBytes, label: s.label });
  }

  // Modules: page-aligned after the kernel (its bss included), in order.
  const modules = options.modules ?? [];
  let next = alignUp(Math.max(...ranges.map((r) => r.gpa + r.bytes)), PAGE_SIZE);
  const modulePlaces: number[] = [];
  for (let i = 0; i < modules.length; i++) {
    const m = modules[i];
    if (next + m.data.length > ram) {
      return { ok: false, error: `module ${i} (${m.name}, ${m.data.length} bytes) does not fit in guest RAM (${ramName}) after the kernel` };
    }
    modulePlaces.push(next);
    ranges.push({ gpa: next, bytes: Math.max(m.data.length, 1), label: `module ${i}` });
    next = alignUp(next + Math.max(m.data.length, 1), PAGE_SIZE);
  }

  const mbi = buildMbi(ram, options.cmdline, modules, modulePlaces);
  let mbiAddress = MBI_LOW_ADDRESS;
  if (MBI_LOW_ADDRESS + mbi.size > Math.min(LOW_RAM_END, ram) || overlaps(MBI_LOW_ADDRESS, mbi.size, ranges)) {
    mbiAddress = next; // just after the kernel and its modules
    if (mbiAddress + mbi.size > ram) return { ok: false, error: `no room in guest RAM (${ramName}) for the multiboot information (${mbi.size} bytes)` };
  }
  ranges.push({ gpa: mbiAddress, bytes: mbi.size, label: 'multiboot information' });

  // Everything fits: copy.
  for (const s of parsed.segments) copySegment(memory, image, s);
  for (let i = 0; i < modules.length; i++) memory.writeBytes(modulePlaces[i], modules[i].data);
  memory.writeBytes(mbiAddress, mbi.bytes(mbiAddress));
  return { ok: true, entry: parsed.entry, mbiAddress, loadedRanges: ranges, format: parsed.format, warnings: parsed.warnings };
}

function copySegment(memory: PhysicalMemory, image: Uint8Array, s: LoadSegment): void {
  memory.writeBytes(s.gpa, image.subarray(s.fileOffset, s.fileOffset + s.fileBytes));
  memory.fill(s.gpa + s.fileBytes, s.memBytes - s.fileBytes, 0);
}

/** The memory map for R bytes of RAM (devices.md 4.3 recommendation), clipped to RAM. */
export function memoryMap(ram: number): { base: number; length: number; type: MemoryType }[] {
  const map: { base: number; length: number; type: MemoryType }[] = [];
  map.push({ base: 0, length: Math.min(LOW_RAM_END, ram), type: MemoryType.Available });
  map.push({ base: LOW_RAM_END, length: 0xa0000 - LOW_RAM_END, type: MemoryType.Reserved });
  map.push({ base: 0xf0000, length: 0x10000, type: MemoryType.Reserved });
  if (ram > 0x100000) map.push({ base: 0x100000, length: ram - 0x100000, type: MemoryType.Available });
  map.push({ base: 0xfec00000, length: 0x1_0000_0000 - 0xfec00000, type: MemoryType.Reserved }); // IOAPIC, LAPIC, BIOS
  return map;
}

const MBI_STRUCT_BYTES = 88; // through the VBE fields (offset 0x58), zeroed
const MMAP_ENTRY_BYTES = 24;
const MODULE_ENTRY_BYTES = 16;

/** Lays out the MBI, its memory map, module array and strings in one block; bytes(at) renders it for an address. */
function buildMbi(
  ram: number,
  cmdline: string | undefined,
  modules: readonly MultibootModule[],
  modulePlaces: readonly number[],
): { size: number; bytes(at: number): Uint8Array } {
  const map = memoryMap(ram);
  const encoder = new TextEncoder();
  const strings: Uint8Array[] = [];
  const cstr = (s: string): number => {
    strings.push(encoder.encode(s + '\0'));
    return strings.length - 1;
  };
  const nameIndex = cstr(BOOT_LOADER_NAME);
  const cmdIndex = cmdline !== undefined ? cstr(cmdline) : -1;
  const moduleStringIndex = modules.map((m) => cstr(m.name));
  const mmapOffset = MBI_STRUCT_BYTES;
  const modsOffset = mmapOffset + map.length * MMAP_ENTRY_BYTES;
  const stringsOffset = modsOffset + modules.length * MODULE_ENTRY_BYTES;
  const stringOffsets: number[] = [];
  let size = stringsOffset;
  for (const s of strings) {
    stringOffsets.push(size);
    size += s.length;
  }
  size = alignUp(size, 4);

  return {
    size,
    bytes(at: number): Uint8Array {
      const out = new Uint8Array(size);
      const v = new DataView(out.buffer);
      let flags = MbiFlag.Memory | MbiFlag.Mmap | MbiFlag.BootLoaderName;
      v.setUint32(4, Math.min(LOW_RAM_END, ram) >>> 10, true); // mem_lower (KiB)
      v.setUint32(8, ram > 0x100000 ? (ram - 0x100000) >>> 10 : 0, true); // mem_upper (KiB)
      if (cmdIndex >= 0) {
        flags |= MbiFlag.Cmdline;
        v.setUint32(16, at + stringOffsets[cmdIndex], true);
      }
      if (modules.length > 0) {
        flags |= MbiFlag.Mods;
        v.setUint32(20, modules.length, true);
        v.setUint32(24, at + modsOffset, true);
      }
      v.setUint32(44, map.length * MMAP_ENTRY_BYTES, true);
      v.setUint32(48, at + mmapOffset, true);
      v.setUint32(64, at + stringOffsets[nameIndex], true);
      v.setUint32(0, flags, true);
      map.forEach((e, i) => {
        const o = mmapOffset + i * MMAP_ENTRY_BYTES;
        v.setUint32(o, MMAP_ENTRY_BYTES - 4, true); // size, not counting itself
        v.setUint32(o + 4, e.base, true);
        v.setUint32(o + 8, 0, true);
        v.setUint32(o + 12, e.length, true);
        v.setUint32(o + 16, 0, true);
        v.setUint32(o + 20, e.type, true);
      });
      modules.forEach((m, i) => {
        const o = modsOffset + i * MODULE_ENTRY_BYTES;
        v.setUint32(o, modulePlaces[i], true);
        v.setUint32(o + 4, modulePlaces[i] + m.data.length, true);
        v.setUint32(o + 8, at + stringOffsets[moduleStringIndex[i]], true);
      });
      strings.forEach((s, i) => out.set(s, stringOffsets[i]));
      return out;
    },
  };
}
