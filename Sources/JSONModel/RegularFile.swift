#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// At most `limit` bytes from the open descriptor `fd`, read until end-of-file (interrupted
/// reads retried); nil on a read error, with `errno` set. The values files, the secrets and
/// `RegularFile.read` read through this, each after its own `fstat` check of what the
/// descriptor is. (Here because every module that reads a file an operator places — values,
/// the Lua host, the job — already depends on this one.)
public func readDescriptor(_ fd: Int32, upTo limit: Int) -> Data? {
    // Read in chunks, so a large limit (a backup's) costs only what the file holds.
    var data = Data()
    var chunk = [UInt8](repeating: 0, count: min(limit, 1 << 16))
    while data.count < limit {
        let want = min(chunk.count, limit - data.count)
        let n = chunk.withUnsafeMutableBytes { buffer in systemRead(fd, buffer.baseAddress!, want) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        data.append(contentsOf: chunk[..<n])
    }
    return data
}

/// The C library's read(2), under a name no type's `read` method shadows.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Files the job runs or parses but an operator places: step `.lua` files, `require`d
/// libraries. Only a regular file (links followed) of at most `maxBytes` is read: a FIFO (whose
/// open or read waits for a writer forever), a device (`/dev/zero` never ends, `/dev/tty`
/// waits) or a socket is refused without being read, and a file over the cap is refused
/// after reading at most `maxBytes + 1` bytes, so neither can hang nor exhaust the job.
public enum RegularFile {
    /// Step files and libraries: far above any real step (the largest is a few KiB).
    public static let sourceMaxBytes = 1 << 20

    /// Why the file cannot be used, worded to follow its path: "is a FIFO, not a regular
    /// file; refused without reading it".
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        /// "PATH is a FIFO, not a regular file; refused without reading it".
        public var description: String { "\(path) \(reason)" }
    }

    /// The bytes of the regular file at `path`, or a `Refusal`.
    public static func read(_ path: String, maxBytes: Int = sourceMaxBytes) throws -> Data {
        // Checked before the open too: opening some devices does something by itself.
        var st = stat()
        if stat(path, &st) == 0, let kind = kind(st.st_mode) {
            throw Refusal(path: path, reason: "is \(kind), not a regular file; refused without reading it")
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Refusal(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        // And on what was opened: the path may have changed in between.
        guard fstat(fd, &st) == 0 else { throw Refusal(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))") }
        if let kind = kind(st.st_mode) {
            throw Refusal(path: path, reason: "is \(kind), not a regular file; refused without reading it")
        }
        guard let data = readDescriptor(fd, upTo: maxBytes + 1) else {
            throw Refusal(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        if data.count > maxBytes {
            throw Refusal(path: path, reason: "is larger than \(ByteSize.text(maxBytes)); refused")
        }
        return data
    }

    /// The UTF-8 text of the regular file at `path` (see `read`).
    public static func text(_ path: String, maxBytes: Int = sourceMaxBytes) throws -> String {
        let data = try read(path, maxBytes: maxBytes)
        guard let text = String(data: data, encoding: .utf8) else { throw Refusal(path: path, reason: "is not UTF-8 text") }
        return text
    }

    /// What a non-regular file is, in words; nil for a regular file.
    static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a directory"
        default: return "not a regular file"
        }
    }
}
