// Byte copies between a DMA buffer and RAM, through PhysicalMemory's bounded read/write (so code-page
// tracking sees DMA writes). Callers check the RAM bounds first; page splitting and translation are theirs.

import type { PhysicalMemory } from '../../core/physical-memory.js';

/** True when [hpa, hpa + length) lies inside RAM (never MMIO, never unbacked). hpa is a 32-bit address. */
export function inRam(memory: PhysicalMemory, hpa: number, length: number): boolean {
  return hpa >= 0 && hpa + length <= memory.ramBytes;
}

/** Copies `length` bytes of RAM at hpa into dst[offset..]. Allocation-free: dword reads, then a byte tail. */
export function copyFromRam(memory: PhysicalMemory, hpa: number, dst: Uint8Array, offset: number, length: number): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const v = memory.read(hpa + i, 4);
    dst[offset + i] = v;
    dst[offset + i + 1] = v >>> 8;
    dst[offset + i + 2] = v >>> 16;
    dst[offset + i + 3] = v >>> 24;
  }
  for (; i < length; i++) dst[offset + i] = memory.read(hpa + i, 1);
}

/** Copies src[offset..offset + length) into RAM at hpa. */
export function copyToRam(memory: PhysicalMemory, hpa: number, src: Uint8Array, offset: number, length: number): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const o = offset + i;
    memory.write(hpa + i, 4, src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24));
  }
  for (; i < length; i++) memory.write(hpa + i, 1, src[offset + i]);
}

/** What a blocked read hands the device: all-ones bytes (devices.md 3.5, emulator choice; see section 8 item 8). */
export function fillBlocked(dst: Uint8Array, offset: number, length: number): void {
  dst.fill(0xff, offset, offset + length);
}

/**
 * True for a usable transfer request: an integral length within the buffer and an integral address below
 * 2^64 (a device may build one from two 32-bit descriptor halves; above 2^53 its low bits are inexact, but
 * such an address is beyond every address width and faults or is rejected anyway).
 */
export function validRequest(address: number, buffer: Uint8Array, length: number): boolean {
  return Number.isInteger(address) && address >= 0 && address < 2 ** 64 && Number.isInteger(length) && length >= 0 && length <= buffer.length;
}
