// Preload (--import) set by the benchmark's pipeline phase with BENCH_CPU_PROF=1: a CPU profile of
// the worker, cut into segments at the same SIGUSR2 the Firestore-counting preload answers (the
// bench sends one before and one after each run), so a segment holds one run's messages and not
// the worker's start-up. Segment n (ending at the n-th signal) goes to
// $BENCH_WORKER_CPU_PROF/worker-<n>.cpuprofile, a file Chrome DevTools and `--cpu-prof` tooling read.
// It does nothing in any other process.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

if (process.env.FUNCTION_TARGET === 'worker' && process.env.BENCH_WORKER_CPU_PROF) {
  const dir = process.env.BENCH_WORKER_CPU_PROF;
  const session = new Session();
  session.connect();
  const start = () => session.post('Profiler.start');
  session.post('Profiler.enable');
  // In µs: 1 ms, as --cpu-prof's default interval.
  session.post('Profiler.setSamplingInterval', { interval: 1000 }, start);
  let segment = 0;
  process.on('SIGUSR2', () => {
    segment += 1;
    const name = `${dir}/worker-${segment}.cpuprofile`;
    session.post('Profiler.stop', (error, result) => {
      if (error) console.error(`bench/profileWorker.js: no profile for segment ${segment}: ${error.message}`);
      else writeFileSync(name, JSON.stringify(result.profile));
      start();
    });
  });
}
