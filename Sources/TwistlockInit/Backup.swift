import Foundation
import JSONModel
#if canImport(Glibc)
import Glibc
#endif

/// A run's backup (`twistlock-init run --backup FILE`): for each object the run wrote, the
/// console's object as the step read it before the write and the body sent. `undo` reads it.
///
/// The file may hold secrets (a user's password as sent, SAML certificates, ...), so it is
/// written with mode 0600 through a new file in the same directory renamed into place, and a
/// path that is a symbolic link (or anything but a regular file) is refused, never followed.
/// Nothing of its contents is logged.
public struct Backup: Sendable, Equatable {
    public static let kind = "twistlock-init-backup"
    public static let version = 1

    /// When the run ended (RFC 3339, UTC).
    public var created: String
    /// The console the run wrote to.
    public var console: String
    public var objects: [ReplacedObject]

    public init(created: String = Backup.now(), console: String, objects: [ReplacedObject]) {
        self.created = created
        self.console = console
        self.objects = objects
    }

    public static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    public var json: JSON {
        .object([
            "kind": .string(Backup.kind), "version": .int(Int64(Backup.version)),
            "created": .string(created), "console": .string(console),
            "objects": .array(objects.map { o in
                var e: [String: JSON] = [
                    "step": .string(o.step), "object": .string(o.object),
                    "method": .string(o.method), "path": .string(o.path),
                ]
                if let b = o.before { e["before"] = b }
                if let s = o.sent { e["sent"] = s }
                return .object(e)
            }),
        ])
    }

    /// Reads a backup, naming the file and the entry at fault.
    public static func parse(_ text: String, source: String) throws -> Backup {
        let doc: JSON
        do {
            doc = try JSON.parse(text)
        } catch {
            throw BackupError("\(source): not a twistlock-init backup (not JSON)")
        }
        guard doc["kind"]?.stringValue == Backup.kind else {
            throw BackupError("\(source): not a twistlock-init backup (kind is not \"\(Backup.kind)\")")
        }
        guard doc["version"]?.int64Value == Int64(Backup.version) else {
            throw BackupError("\(source): backup version \(doc["version"]?.encoded() ?? "none") is not supported (expected \(Backup.version))")
        }
        guard case .array(let items)? = doc["objects"] else {
            throw BackupError("\(source): objects: expected an array")
        }
        var objects: [ReplacedObject] = []
        for (i, item) in items.enumerated() {
            func text(_ key: String) throws -> String {
                guard case .string(let s)? = item[key], !s.isEmpty else {
                    throw BackupError("\(source): objects[\(i)].\(key): expected a non-empty string")
                }
                return s
            }
            let method = try text("method").uppercased()
            guard ["PUT", "POST", "DELETE"].contains(method) else {
                throw BackupError("\(source): objects[\(i)].method: \(method) is not a write")
            }
            let path = try text("path")
            guard path.hasPrefix("/api/"), !path.contains(".."), !path.contains("?") else {
                throw BackupError("\(source): objects[\(i)].path: \(path) is not a console API path")
            }
            func value(_ key: String) -> JSON? {
                guard let v = item[key], !v.isNull else { return nil }
                return v
            }
            objects.append(ReplacedObject(step: try text("step"), object: try text("object"), method: method, path: path,
                                          before: value("before"), sent: value("sent")))
        }
        return Backup(created: doc["created"]?.stringValue ?? "", console: doc["console"]?.stringValue ?? "",
                      objects: objects)
    }

    /// The largest backup `undo` reads: far above a console with thousands of rules.
    public static let maxBytes = 256 << 20

    public static func read(_ url: URL, maxBytes: Int = Backup.maxBytes) throws -> Backup {
        // Only a regular file, bounded: a FIFO or a device given as the backup cannot hang undo.
        let data: Data
        do {
            data = try RegularFile.read(url.path, maxBytes: maxBytes)
        } catch {
            throw BackupError("--backup \(error)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: "--backup \(url.path)")
    }

    /// Refuses a path the backup must not be written to: a symbolic link, something that is
    /// not a regular file, or a directory that does not exist. Called before the run sends
    /// anything, and again when writing.
    public static func checkDestination(_ url: URL) throws {
        var st = stat()
        if lstat(url.path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFLNK {
                throw BackupError("--backup \(url.path): is a symbolic link; refusing to write a backup through it")
            }
            if (st.st_mode & S_IFMT) != S_IFREG {
                throw BackupError("--backup \(url.path): exists and is not a regular file")
            }
        }
        var isDir: ObjCBool = false
        let dir = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw BackupError("--backup \(url.path): the directory \(dir) does not exist")
        }
    }

    /// Writes the backup with mode 0600: a new file (O_EXCL, O_NOFOLLOW) beside the
    /// destination, renamed over it (a rename replaces a link itself, never what it points to).
    public func write(to url: URL) throws {
        try Backup.checkDestination(url)
        let bytes = Array((json.encoded(pretty: true) + "\n").utf8)
        let dir = url.deletingLastPathComponent().path
        let temp = "\(dir)/.\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BackupError("--backup \(url.path): cannot create \(temp): \(String(cString: strerror(errno)))")
        }
        var ok = fchmod(fd, 0o600) == 0
        var written = 0
        while ok && written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { ok = false } else { written += n }
        }
        if ok { ok = fsync(fd) == 0 }
        let err = errno
        close(fd)
        guard ok else {
            unlink(temp)
            throw BackupError("--backup \(url.path): cannot write it: \(String(cString: strerror(err)))")
        }
        guard rename(temp, url.path) == 0 else {
            let e = errno
            unlink(temp)
            throw BackupError("--backup \(url.path): cannot put it in place: \(String(cString: strerror(e)))")
        }
    }

    /// Every string under a sensitive field name (`password`, `key`, ...) in the backup, for
    /// the redactor: what `undo` prints never shows them, even when today's values lack them.
    public var secrets: [String] {
        var out: [String] = []
        func walk(_ v: JSON, sensitive: Bool) {
            switch v {
            case .object(let o):
                for (k, x) in o { walk(x, sensitive: sensitive || Redactor.isSensitive(k, extra: [])) }
            case .array(let a):
                for x in a { walk(x, sensitive: sensitive) }
            case .string(let s):
                if sensitive, !s.isEmpty { out.append(s) }
            default:
                break
            }
        }
        for o in objects {
            if let b = o.before { walk(b, sensitive: false) }
            if let s = o.sent { walk(s, sensitive: false) }
        }
        return out
    }
}

public struct BackupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
