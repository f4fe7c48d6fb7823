// Test helper for CLI tests: calls main() in-process with captured stdout/stderr.
// Kept beside the CLI tests because only they need it.

import { main } from '../../src/cli/main.js';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

export async function cli(...argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString('latin1');
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}
