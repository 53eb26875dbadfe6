#if canImport(Glibc)
// @preconcurrency: the C library's `stdout` is a global variable Swift 6 cannot prove safe.
// It is only read here, once, at the start of `run` before the benchmark starts any thread or
// task; this file holds nothing else, so the relaxed import covers no other code.
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Standard output line-buffered: progress lines reach a pipe as they are printed.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
