import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `--report-json` file and `plan --out` (issue 13, point 4). Checked before any request: the target must
/// be missing or a regular file, in an existing directory the job may write to. A FIFO, a
/// device, a socket, a directory or a symbolic link is refused (exit 2): the report is written
/// to a new file beside the target and renamed over it, which would replace a device node
/// (`/dev/full`, as root) or a link instead of writing where it points.
public enum ReportFile {
    /// Why `url` cannot take the report, or nil when it can.
    public static func problem(_ url: URL, flag: String = "--report-json") -> String? {
        let path = url.path
        if path.isEmpty { return "\(flag): an empty path" }
        var st = stat()
        if lstat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFLNK: return "\(flag) \(path): is a symbolic link; refused (give the real path of a regular file)"
            case S_IFDIR: return "\(flag) \(path): is a directory, not a file"
            case S_IFIFO: return "\(flag) \(path): is a FIFO; refused (the file is written to a regular file only: a new one renamed over it)"
            case S_IFCHR, S_IFBLK: return "\(flag) \(path): is a device; refused (the file is written to a regular file only: a new one renamed over it)"
            case S_IFSOCK: return "\(flag) \(path): is a socket; refused (the file is written to a regular file only: a new one renamed over it)"
            default: return "\(flag) \(path): is not a regular file; refused"
            }
        } else if errno != ENOENT {
            return "\(flag) \(path): \(String(cString: strerror(errno)))"
        }
        let dir = url.deletingLastPathComponent().path
        var dst = stat()
        guard stat(dir, &dst) == 0 else {
            return "\(flag) \(path): its directory \(dir) does not exist"
        }
        guard dst.st_mode & S_IFMT == S_IFDIR else {
            return "\(flag) \(path): \(dir) is not a directory"
        }
        if access(dir, W_OK | X_OK) != 0 {
            return "\(flag) \(path): its directory \(dir) is not writable (\(String(cString: strerror(errno))))"
        }
        return nil
    }

    /// Writes `text` to a new file beside `url` and renames it over `url` — only when `url`
    /// is (still) missing or a regular file. Throws with a message naming the path.
    public static func write(_ text: String, to url: URL, flag: String = "--report-json") throws {
        if let problem = problem(url, flag: flag) { throw ReportFileError(message: problem) }
        let dir = url.deletingLastPathComponent().path
        var template = Array((dir + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ReportFileError(message: "\(flag) \(url.path): cannot create a file in \(dir) (\(String(cString: strerror(errno))))")
        }
        let temp = String(cString: template)
        var failed = writeAll(text, to: fd)
        if failed == 0 && fsync(fd) != 0 { failed = errno }
        fchmod(fd, 0o644)
        close(fd)
        if failed == 0 {
            // Checked again right before the rename: a link or device put there meanwhile is
            // not replaced.
            if let problem = problem(url, flag: flag) {
                unlink(temp)
                throw ReportFileError(message: problem)
            }
            if rename(temp, url.path) == 0 { return }
            failed = errno
        }
        unlink(temp)
        throw ReportFileError(message: "\(flag) \(url.path): \(String(cString: strerror(failed)))")
    }
}

public struct ReportFileError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
