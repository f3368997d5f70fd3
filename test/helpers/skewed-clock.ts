// Preloaded into a node process (`node --import`) by the clock-skew fault: the process's wall clock (Date.now) is
// offset by the number of milliseconds written in the file named by AC_FAULT_CLOCK_FILE, re-read every 100 ms, so a
// test can skew a running node, or step its clock, by rewriting one file. Monotonic time (performance.now, timers) is
// left alone, as NTP or an operator setting the clock would leave it.
import { readFileSync } from 'node:fs';

const file = process.env.AC_FAULT_CLOCK_FILE;
if (file !== undefined && file !== '') {
  const realNow = Date.now.bind(Date);
  let offsetMs = 0;
  const read = () => {
    try {
      const text = readFileSync(file, 'utf8').trim();
      // Only a whole number counts: an empty or partial file (no file yet, a rewrite in progress) keeps the last offset.
      if (/^-?\d{1,15}$/.test(text)) offsetMs = Number(text);
    } catch {
      // No file yet: keep the last offset.
    }
  };
  read();
  setInterval(read, 100).unref();
  Date.now = () => realNow() + offsetMs;
}
