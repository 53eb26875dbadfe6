import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// This process's peak resident set size (getrusage RUSAGE_SELF ru_maxrss), in bytes.
func peakRSSBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss) * 1024  // KiB on Linux
    #else
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss)  // bytes on macOS
    #endif
}

/// Peak RSS of another process (Linux: VmHWM in /proc/PID/status), in bytes; nil elsewhere.
func peakRSSBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        // "VmHWM:\t   41234 kB"
        let kib = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        return kib.map { $0 * 1024 }
    }
    return nil
}

/// CPU time (user + system) this process used so far, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    #else
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    #endif
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// CPU time (user + system) of another process (Linux: /proc/PID/stat), in seconds; nil elsewhere.
func cpuSeconds(pid: Int32) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return nil }
    // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let u = Double(fields[11]), let st = Double(fields[12]) else { return nil }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (u + st) / (ticks > 0 ? ticks : 100)
}

func monotonicSeconds() -> Double { ProcessInfo.processInfo.systemUptime }

/// The benchmark's own executable (to start the measured runs as children).
func selfExecutable() -> URL {
    #if os(Linux)
    let proc = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    if FileManager.default.isExecutableFile(atPath: proc.path) { return proc }
    #endif
    return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
}

/// The console simulator in a process of its own: `twistlock-console-sim --port 0`, whose
/// first output line is its base URL.
final class SimulatorProcess {
    let process = Process()
    let url: String

    init(executable: URL, catalogSize: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw BenchError("the console simulator \(executable.path) does not exist: build it (scripts/bench.sh does) or pass --console-sim")
        }
        process.executableURL = executable
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--catalog-size", String(catalogSize),
                             "--token-lifetime", "3600"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        // The first line is the URL; read it with a deadline, then keep draining the pipe.
        let handle = out.fileHandleForReading
        let box = LineBox()
        let reader = Thread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                if box.line == nil {
                    buffer.append(chunk)
                    if let nl = buffer.firstIndex(of: 0x0A) {
                        box.set(String(decoding: buffer[..<nl], as: UTF8.self))
                        buffer = Data()
                    }
                }
            }
            box.set(nil)
        }
        reader.start()
        guard box.wait(seconds: 60), let line = box.line, line.hasPrefix("http") else {
            process.terminate()
            throw BenchError("the console simulator did not print its URL (exit: \(process.isRunning ? "still running" : String(process.terminationStatus)))")
        }
        var u = line.trimmingCharacters(in: .whitespaces)
        while u.hasSuffix("/") { u.removeLast() }
        url = u
    }

    var peakRSS: Int? { peakRSSBytes(pid: process.processIdentifier) }
    var cpu: Double? { cpuSeconds(pid: process.processIdentifier) }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()  // SIGTERM: the simulator stops serving and exits
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

// @unchecked Sendable: `line` and `done` are written with `cond` held (a condition variable with
// a timeout, which Mutex does not offer), once; `line` is read by the thread that set it or after
// `wait` saw it set under `cond`.
final class LineBox: @unchecked Sendable {
    private let cond = NSCondition()
    private var done = false
    private(set) var line: String?

    func set(_ l: String?) {
        cond.lock()
        if !done {
            line = l
            done = true
            cond.broadcast()
        }
        cond.unlock()
    }

    func wait(seconds: Double) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        let until = Date().addingTimeInterval(seconds)
        while !done { if !cond.wait(until: until) { return false } }
        return true
    }
}

/// A child process run to completion with posix_spawn and wait4: exact wall time (Foundation's
/// `Process.waitUntilExit` polls every 50 ms on Linux) and the child's own resource usage.
struct ChildRun {
    var status: Int32
    var wallSeconds: Double
    /// wait4's ru_maxrss, in bytes. On Linux it is at least the spawning process's peak at
    /// spawn time (exec keeps the old address space's high-water mark), so not the child's own.
    var maxRSSIncludingParent: Int
    var cpuSeconds: Double
}

func spawnAndWait(_ executable: String, _ arguments: [String], outputFile: String) throws -> ChildRun {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let t0 = monotonicSeconds()
    let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard rc == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        if errno != EINTR { throw BenchError("wait4: \(String(cString: strerror(errno)))") }
    }
    let wall = monotonicSeconds() - t0
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
    // WIFEXITED/WEXITSTATUS; a signal shows as 128 + its number.
    let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    #if os(Linux)
    let rss = Int(usage.ru_maxrss) * 1024
    #else
    let rss = Int(usage.ru_maxrss)
    #endif
    return ChildRun(status: exit, wallSeconds: wall, maxRSSIncludingParent: rss, cpuSeconds: s(usage.ru_utime) + s(usage.ru_stime))
}
