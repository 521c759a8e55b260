#!/usr/bin/env node
// The `prmkit` executable: wires the process (streams, env, signals) into runCli.
//
// The first SIGINT/SIGTERM asks the command to stop (score finishes the batch in flight and
// writes it; serve answers what is in flight). A second one means "now". Exiting the normal
// way then is not safe: process.exit tears down the onnxruntime worker threads while their
// sessions run, and onnxruntime-node throws from a C++ callback during that teardown, which
// aborts the process (SIGABRT, a core). So the process ends the way an uncaught signal ends
// it: the handler is removed and the signal raised again, the kernel ends the process with no
// teardown at all, and the shell sees 130 (SIGINT) or 143 (SIGTERM). Output is written a whole
// model call at a time; at most the last line can be cut, and a rerun removes it.
import { runCli } from './run.js';

const stop = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    process.stderr.write(`prmkit: second ${name}, stopping now\n`);
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, name);
    return;
  }
  process.stderr.write(`\nprmkit: ${name} received, stopping (again to stop at once)\n`);
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
// Everything the command opened is closed by now; a handle nobody owns (a stdin pipe that
// never ends, a keep-alive socket) must not keep a finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
