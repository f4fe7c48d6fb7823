#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds it through `prepare`).
import { main } from '../dist/src/cli/main.js';

// A reader that goes away (`exitless run ... | head`) ends the run quietly, as SIGPIPE ends C tools.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
