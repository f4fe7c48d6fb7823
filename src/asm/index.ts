// Public API of the NASM-syntax assembler for guests: assemble(source) and assembleFile(path).
// Preprocessing, parsing, passes and encoding live in the sibling files; this file only wires them.

import { readFileSync } from 'node:fs';
import { Assembler } from './assembler.js';
import { Preprocessor } from './preprocess.js';
import type { AsmOptions, AsmResult } from './types.js';

export type { AsmError, AsmOptions, AsmResult, ListingEntry } from './types.js';

function readWithFs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Assembles NASM-syntax source to the bytes `nasm -f bin` would produce. Never throws for bad input. */
export function assemble(source: string, options: AsmOptions): AsmResult {
  const file = options.fileName;
  try {
    const pp = new Preprocessor({
      readFile: options.readFile ?? readWithFs,
      includePaths: options.includePaths ?? [],
      defines: options.defines ?? {},
    });
    const lines = pp.run(source, file);
    const out = new Assembler(lines, options.listing === true).run();
    const errors = [...pp.errors, ...out.errors];
    const result: AsmResult = {
      ok: errors.length === 0,
      bytes: errors.length === 0 ? out.bytes : new Uint8Array(0),
      errors,
      symbols: out.symbols,
    };
    if (options.listing) result.listing = out.listing;
    return result;
  } catch (e) {
    // A bug or resource exhaustion must not escape: report it as an error on the file.
    const message = e instanceof Error ? `internal assembler error: ${e.message}` : 'internal assembler error';
    return { ok: false, bytes: new Uint8Array(0), errors: [{ file, line: 0, message }], symbols: new Map() };
  }
}

/** Reads `path` with node:fs and assembles it; %include paths resolve relative to it. */
export function assembleFile(path: string, options: Partial<AsmOptions> = {}): AsmResult {
  const readFile = options.readFile ?? readWithFs;
  const source = readFile(path);
  if (source === undefined) {
    return { ok: false, bytes: new Uint8Array(0), errors: [{ file: path, line: 0, message: `cannot read file: ${path}` }], symbols: new Map() };
  }
  return assemble(source, { ...options, fileName: path, readFile });
}
