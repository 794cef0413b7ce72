// Loaded with `node --import` into the robustness suite's child processes: on exit the child
// writes its own peak resident set size to stderr, so tests can assert bounded memory.
process.on('exit', () => {
  process.stderr.write(`\ndeepmetric-test peak-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
