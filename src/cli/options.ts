// Parsing the QEMU-style option values of `exitless run`: -m sizes, -d log items, -serial/-debugcon backends.
// Each parser returns a value or a one-line error; yargs wiring and running are in main.ts and run-command.ts.

import { MAX_RAM_BYTES } from '../core/physical-memory.js';
import type { LogItem, Logger } from '../core/tracer.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Largest RAM the board holds (PhysicalMemory's limit; well below the PCI hole, devices.md 6.1). */
export const MAX_MEMORY_BYTES = MAX_RAM_BYTES;
/** Smallest RAM we boot: the kernel goes at 1 MiB and needs room above it. */
export const MIN_MEMORY_BYTES = 2 << 20;

const SUFFIX: Record<string, number> = { '': 1 << 20, B: 1, K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };

/** QEMU's -m syntax: "128", "128M", "1G", "512k" (plain numbers are MiB). */
export function parseMemorySize(text: string): Parsed<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return { ok: false, error: `-m: cannot parse memory size '${text}' (examples: 128, 128M, 1G)` };
  const bytes = Math.round(Number(m[1]) * SUFFIX[m[2].toUpperCase()]);
  if (bytes < MIN_MEMORY_BYTES) return { ok: false, error: `-m: ${text} is too small (at least 2 MiB)` };
  if (bytes > MAX_MEMORY_BYTES) return { ok: false, error: `-m: ${text} is too large (at most 2 GiB)` };
  if (bytes % 4096 !== 0) return { ok: false, error: `-m: ${text} is not a whole number of 4 KiB pages` };
  return { ok: true, value: bytes };
}

/** The -d items, with QEMU's help wording where QEMU has the item. */
export const LOG_ITEMS: readonly { item: LogItem; help: string }[] = [
  { item: 'int', help: 'show interrupts/exceptions in short format' },
  { item: 'exec', help: 'show trace before each executed instruction (one line each: slow)' },
  { item: 'cpu', help: 'show CPU registers (at the end of the run)' },
  { item: 'cpu_reset', help: 'show CPU state before CPU resets (triple fault)' },
  { item: 'unimp', help: 'log unimplemented functionality' },
  { item: 'guest_errors', help: 'log when the guest OS does something invalid (eg accessing a non-existent register)' },
  { item: 'vmexit', help: 'log every VM exit as KVM traces it (kvm_exit: reason, rip, info1, info2, intr_info, error_code)' },
];

export function logItemsHelp(): string {
  return 'Log items (comma separated):\n' + LOG_ITEMS.map((i) => `${i.item.padEnd(13)} ${i.help}`).join('\n') + '\n';
}

/** "-d int,cpu_reset" -> the items; "help" is handled by the caller. */
export function parseLogItems(text: string): Parsed<Set<LogItem>> {
  const items = new Set<LogItem>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const known = LOG_ITEMS.find((i) => i.item === name);
    if (!known) return { ok: false, error: `-d: unknown log item '${name}' (try -d help)` };
    items.add(known.item);
  }
  return { ok: true, value: items };
}

export type CharDev = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

/** QEMU character backends we support: stdio (mon:stdio too), file:PATH, none/null. */
export function parseCharDev(option: string, text: string): Parsed<CharDev> {
  if (text === 'stdio' || text === 'mon:stdio') return { ok: true, value: { kind: 'stdio' } };
  if (text === 'none' || text === 'null') return { ok: true, value: { kind: 'none' } };
  if (text.startsWith('file:') && text.length > 5) return { ok: true, value: { kind: 'file', path: text.slice(5) } };
  return { ok: false, error: `${option}: unsupported backend '${text}' (use stdio, file:PATH or none)` };
}

/** "1e9", "1_000_000", "5000000" -> a positive whole number of cycles. */
export function parseCycles(text: string): Parsed<number> {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0 || !Number.isInteger(n)) return { ok: false, error: `--max-cycles: '${text}' is not a positive whole number` };
  return { ok: true, value: n };
}

/** A Logger for the chosen items that writes each line to `write`. */
export function lineLogger(items: ReadonlySet<LogItem>, write: (line: string) => void): Logger {
  return {
    enabled: (item) => items.has(item),
    log: (item, line) => {
      if (items.has(item)) write(line.endsWith('\n') ? line : line + '\n');
    },
  };
}
