// Shared types of the assembler: the public result/error/options shapes and the internal error class.
// Owns no behaviour; lexing, preprocessing, evaluation and encoding live in their own files.

export interface AsmError {
  file: string;
  line: number;
  message: string;
}

export interface ListingEntry {
  file: string;
  line: number;
  /** Address of the first byte (org-relative absolute value, i.e. the value `$` had). */
  address: number;
  bytes: Uint8Array;
  source: string;
}

export interface AsmResult {
  ok: boolean;
  bytes: Uint8Array;
  errors: AsmError[];
  symbols: Map<string, number>;
  listing?: ListingEntry[];
}

export interface AsmOptions {
  fileName: string;
  readFile?: (path: string) => string | undefined;
  includePaths?: string[];
  defines?: Record<string, string>;
  /** Produce `listing` in the result (default false). */
  listing?: boolean;
}

/** One line after preprocessing, with the place it came from. */
export interface SourceLine {
  file: string;
  line: number;
  text: string;
}

/** Thrown inside the assembler for a problem on one line; always caught and turned into an AsmError. */
export class AsmSyntaxError extends Error {}

export function fail(message: string): never {
  throw new AsmSyntaxError(message);
}
