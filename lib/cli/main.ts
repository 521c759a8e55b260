#!/usr/bin/env node
// The `prmkit` executable: wires the process (streams, env, signals) into runCli.
import { runCli } from './run.js';

const stop = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals) => {
  signals++;
  // a second Ctrl-C means "now": do not wait for the graceful path
  if (signals > 1) process.exit(130);
  process.stderr.write(`\nprmkit: ${name} received, stopping (again to force)\n`);
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
});
process.exitCode = code;
