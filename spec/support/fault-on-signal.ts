/**
 * Preloaded into a node process by a spec (NODE_OPTIONS=--require ...): on
 * SIGUSR2 the process throws from a callback, or with FAULT_KIND=rejection
 * leaves a promise rejection unhandled, as a bug in a running node would.
 */
process.on('SIGUSR2', () => {
  setImmediate(() => {
    if (process.env.FAULT_KIND === 'rejection') {
      void Promise.reject(new Error('injected rejection'));
      return;
    }
    throw new Error('injected fault');
  });
});
