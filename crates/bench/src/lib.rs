//! Benchmarks of medchain against peer libraries and the machine's own limits, each printing ratios and one summary line.
