// `exitless disasm`: NASM-syntax disassembly with iced-x86; multiboot images start at their load address.
// Decoding for the emulator itself is the CPU's; this is a user-facing listing only.

import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';
import { hex } from '../core/bus.js';
import { parseKernelImage } from '../machine/image-format.js';

export interface DisasmOptions {
  /** Address of the first byte of the image; default: the multiboot load address, else 0. */
  org?: number;
  /** Start address (default: the org, or the multiboot entry point for a multiboot image). */
  start?: number;
  /** Bytes to disassemble (default: to the end of the loaded bytes). */
  length?: number;
}

/**
 * Disassembles 32-bit code. For a multiboot image the bytes are laid out as the loader would place them
 * (the a.out kludge range or the first ELF segment), so addresses match the guest's.
 */
export function disassemble(image: Uint8Array, options: DisasmOptions = {}): string[] {
  let bytes = image;
  let org = options.org ?? 0;
  let start = options.start;
  const parsed = parseKernelImage(image);
  if (parsed.ok && options.org === undefined) {
    const seg = parsed.segments.find((s) => parsed.entry >= s.gpa && parsed.entry < s.gpa + s.fileBytes) ?? parsed.segments[0];
    bytes = image.subarray(seg.fileOffset, seg.fileOffset + seg.fileBytes);
    org = seg.gpa;
    start ??= parsed.format === 'elf32' ? parsed.entry : org;
  }
  start ??= org;
  const from = Math.max(0, start - org);
  const to = Math.min(bytes.length, options.length !== undefined ? from + options.length : bytes.length);
  const lines: string[] = [];
  if (from >= to) return lines;
  const decoder = new Decoder(32, bytes.subarray(from, to), DecoderOptions.None);
  const formatter = new Formatter(FormatterSyntax.Nasm);
  try {
    decoder.ip = BigInt(org + from);
    let offset = from;
    while (decoder.canDecode) {
      const instr = decoder.decode();
      try {
        const length = instr.length;
        const raw = Array.from(bytes.subarray(offset, offset + length), (b) => b.toString(16).padStart(2, '0')).join('');
        const text = instr.isInvalid ? `(bad) db ${raw.match(/../g)!.map((b) => '0x' + b).join(', ')}` : formatter.format(instr);
        lines.push(`${hex(org + offset, 8).slice(2)}  ${raw.padEnd(20)} ${text}`);
        offset += length;
      } finally {
        instr.free();
      }
    }
  } finally {
    decoder.free();
    formatter.free();
  }
  return lines;
}
