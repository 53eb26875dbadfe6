import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to stdout and stderr without ever trapping (issue 13, point 4). A closed pipe
/// (`| head`), a full disk (`>/dev/full`) or a closed descriptor makes `FileHandle.write`
/// raise an Objective-C style exception that Swift turns into a crash (exit 132) — after the
/// run has written to the console and before it wrote its report. Here a write that fails is
/// dropped and counted; the run goes on, writes its report (which notes the lost lines) and
/// exits with the code the run earned. SIGPIPE must be ignored (`prepareStandardStreams()`), or the
/// first write to a closed pipe kills the process before `write(2)` can return EPIPE.
public enum SafeOutput {
    /// Failed writes by descriptor (count, last reason).
    private static let failures = Mutex<[Int32: (count: Int, reason: String)]>([:])

    /// Ignores SIGPIPE for the whole process (writes to a closed pipe or socket return EPIPE),
    /// and opens /dev/null on any of descriptors 0–2 that is closed (`>&-`, `2>&-`): otherwise
    /// the next file or socket the job opens would get that number, and its log lines would go
    /// into the report or to the console.
    public static func prepareStandardStreams() {
        signal(SIGPIPE, SIG_IGN)
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", O_RDWR)
            if opened >= 0 && opened != fd { dup2(opened, fd); close(opened) }
        }
    }

    /// Writes `text` whole to `fd`, retrying short writes and EINTR; returns false (and counts
    /// the failure) when the descriptor refuses it.
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Bool {
        let failure = writeAll(text, to: fd)
        if failure == 0 { return true }
        let reason = String(cString: strerror(failure))
        failures.withLock { byFD in
            let before = byFD[fd]?.count ?? 0
            byFD[fd] = (before + 1, reason)
        }
        return false
    }

    /// A line to stdout (a newline is added).
    @discardableResult
    public static func line(_ text: String) -> Bool { write(text + "\n", to: STDOUT_FILENO) }

    /// A line to stderr (a newline is added).
    @discardableResult
    public static func errorLine(_ text: String) -> Bool { write(text + "\n", to: STDERR_FILENO) }

    /// What could not be written, one entry per descriptor: "stdout: 12 writes dropped (Broken pipe)".
    public static var droppedSummary: [String] {
        failures.withLock { byFD in
            byFD.sorted { $0.key < $1.key }.map { fd, f in
                let name = fd == STDOUT_FILENO ? "stdout" : fd == STDERR_FILENO ? "stderr" : "fd \(fd)"
                return "\(name): \(f.count) write\(f.count == 1 ? "" : "s") dropped (\(f.reason))"
            }
        }
    }
}

/// Writes all of `text` to `fd` (interrupted and partial writes continued): 0, or the errno
/// of the write that failed (EIO for a write that wrote nothing). The one write loop of the
/// job's outputs and its report file.
func writeAll(_ text: String, to fd: Int32) -> Int32 {
    var bytes = Array(text.utf8)
    var offset = 0
    var failure: Int32 = 0
    bytes.withUnsafeMutableBytes { buffer in
        while offset < buffer.count {
            let n = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            failure = n < 0 ? errno : EIO
            return
        }
    }
    return failure
}

func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}

/// Escaping for text output (issue 13, point 6): a value, a console answer or a step's message
/// may hold control characters — a newline or carriage return that starts a fake `✔` line, an
/// ESC sequence that rewrites the terminal, a NUL, Unicode line separators or bidi overrides
/// (U+202A–U+202E, U+2066–U+2069) that make text read differently from what it is. In text
/// output each is shown as an escape (`\n`, `\r`, `\0`, `\t` kept, the others `\u{…}`), so a
/// printed line is always exactly one line of the job's own making.
public enum TextSafety {
    /// Whether `scalar` is shown escaped.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        switch v {
        case 0x09: return false
        case 0x00..<0x20, 0x7F, 0x80...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// `text` with every character above escaped (newlines too, unless `keepNewlines`).
    public static func escape(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0) }) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            guard needsEscape(s), !(keepNewlines && s == "\n") else { out.append(s); continue }
            let escaped: String
            switch s {
            case "\n": escaped = "\\n"
            case "\r": escaped = "\\r"
            case "\0": escaped = "\\0"
            default: escaped = "\\u{" + String(s.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: escaped.unicodeScalars)
        }
        return String(out)
    }

    /// A JSON line with the characters JSON allows raw in strings but a terminal interprets
    /// (C1 controls, line separators, bidi overrides) written as `\uXXXX` escapes. Safe on
    /// the encoded text: every such character can only be inside a string.
    public static func escapeJSONLine(_ line: String) -> String {
        // Below U+0080 the encoder already escaped what is inside strings; a raw newline or
        // tab left is the layout of pretty-printed JSON.
        func inString(_ s: Unicode.Scalar) -> Bool { s.value >= 0x80 && needsEscape(s) }
        guard line.unicodeScalars.contains(where: inString) else { return line }
        var out = String.UnicodeScalarView()
        for s in line.unicodeScalars {
            if inString(s) {
                let hex = String(s.value, radix: 16, uppercase: true)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }
}
