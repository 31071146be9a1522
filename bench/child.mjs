// Helpers the bench scripts share: a percentile, and a child process that is waited on by message.
import { fork } from "node:child_process";

/** The p-th percentile of `xs` (nearest rank). */
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Forks `url` (a module next to this one); `next(pred)` resolves with the first message from then on that `pred` accepts; `onMessage` sees every message first. */
export function forkChild(url, onMessage = () => {}) {
  const child = fork(url);
  const waiters = [];
  child.on("message", (m) => {
    onMessage(m);
    for (const w of waiters.splice(0)) w(m);
  });
  const next = (pred) =>
    new Promise((resolve) => {
      const check = (m) => (pred(m) ? resolve(m) : waiters.push(check));
      waiters.push(check);
    });
  return { child, next };
}
