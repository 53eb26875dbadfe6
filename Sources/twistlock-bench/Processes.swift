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
        let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return digits.map { $0 * 1024 }
    }
    return nil
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

    func stop() {
        guard process.isRunning else { return }
        process.terminate()  // SIGTERM: the simulator stops serving and exits
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

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
