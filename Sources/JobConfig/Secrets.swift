import Foundation
import JSONModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The secrets directory, laid out as Kubernetes mounts a Secret: one file per key, the file
/// name being the key. Kubernetes' own entries (`..data`, `..2024_…` and other dotfiles) are
/// ignored.
public enum SecretsDirectory {
    /// The largest secret file read.
    public static let maxBytes = 1024 * 1024

    /// Reads the secret `name` from `dir`: the file's text with trailing newlines (`\n`,
    /// `\r\n`) removed. Names that are empty, contain `/` or `..`, start with `.` or hold a
    /// NUL are refused; a missing secret is an error naming it; a link is followed only when it
    /// resolves inside the directory (`resolveInside`). Errors never hold the value.
    public static func readSecret(named name: String, in dir: URL) throws -> String {
        try checkName(name)
        let url = dir.appendingPathComponent(name, isDirectory: false)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            var dirIsDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: dir.path, isDirectory: &dirIsDir) || !dirIsDir.boolValue {
                throw ValuesError.secret(name: name, reason: "the secrets directory \(dir.path) does not exist")
            }
            throw ValuesError.secret(name: name, reason: "not found in the secrets directory \(dir.path)")
        }
        if isDir.boolValue {
            throw ValuesError.secret(name: name, reason: "\(url.path) is a directory, not a file")
        }
        let real = try resolveInside(name: name, url: url, dir: dir)
        let data = try readRegularFile(real, name: name, dir: dir)
        if data.count > maxBytes {
            throw ValuesError.secret(name: name, reason: "is larger than \(ByteSize.text(maxBytes))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValuesError.secret(name: name, reason: "is not UTF-8 text")
        }
        return trimTrailingNewlines(text)
    }

    /// The bytes of the regular file `url` (at most `maxBytes + 1`). Opened non-blocking and
    /// checked with `fstat` before any read: a FIFO (whose open or read would wait for a writer
    /// forever), a device (`/dev/zero`, `/dev/tty`) or a socket is refused without being read.
    static func readRegularFile(_ url: URL, name: String, dir: URL) throws -> Data {
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw ValuesError.secret(name: name, reason: "cannot be read from \(dir.path) (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ValuesError.secret(name: name, reason: "cannot be read from \(dir.path) (\(String(cString: strerror(errno))))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            let kind: String
            switch st.st_mode & S_IFMT {
            case S_IFIFO: kind = "a FIFO"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFSOCK: kind = "a socket"
            case S_IFDIR: kind = "a directory"
            default: kind = "not a regular file"
            }
            throw ValuesError.secret(name: name, reason: "\(url.path) is \(kind), not a regular file; refused without reading it")
        }
        guard let data = readDescriptor(fd, upTo: maxBytes + 1) else {
            throw ValuesError.secret(name: name, reason: "cannot be read from \(dir.path) (\(String(cString: strerror(errno))))")
        }
        return data
    }

    /// The real path of the secret file `url`, which must lie inside the real path of `dir`.
    /// Kubernetes mounts a Secret as links (`key -> ..data/key`, `..data -> ..2024_…/`), so
    /// links are followed, but one that leads out of the directory (to `/etc/passwd`, another
    /// mount, a parent directory) is refused: a secret is only ever read from the directory
    /// itself. The file is then read through the resolved path, not the link.
    static func resolveInside(name: String, url: URL, dir: URL) throws -> URL {
        guard let realDir = realPath(dir.path) else {
            throw ValuesError.secret(name: name, reason: "the secrets directory \(dir.path) cannot be resolved")
        }
        guard let realFile = realPath(url.path) else {
            throw ValuesError.secret(name: name, reason: "\(url.path) cannot be resolved (a broken link?)")
        }
        let prefix = realDir.hasSuffix("/") ? realDir : realDir + "/"
        // Compared byte for byte: String's hasPrefix treats canonically equivalent names
        // (`é` and `e` + U+0301) as equal, which are two different directories on disk.
        guard realFile.utf8.count > prefix.utf8.count, realFile.utf8.starts(with: prefix.utf8) else {
            // The target is not named: it is outside, and none of the secret's business.
            throw ValuesError.secret(name: name, reason: "\(url.path) is a link that points outside the secrets "
                + "directory \(dir.path); refused (only links within the directory, as Kubernetes makes them, are followed)")
        }
        return URL(fileURLWithPath: realFile, isDirectory: false)
    }

    /// `realpath(3)`: every link and `.`/`..` resolved; nil when it fails (a dangling link).
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func checkName(_ name: String) throws {
        if name.isEmpty { throw ValuesError.secret(name: name, reason: "empty secret name") }
        if name.contains("/") || name.contains("\\") {
            throw ValuesError.secret(name: name, reason: "a secret name cannot contain a path separator")
        }
        if name.contains("..") { throw ValuesError.secret(name: name, reason: "a secret name cannot contain \"..\"") }
        if name.hasPrefix(".") { throw ValuesError.secret(name: name, reason: "a secret name cannot start with \".\"") }
        if name.contains("\u{0}") { throw ValuesError.secret(name: name, reason: "a secret name cannot contain NUL") }
    }

    static func trimTrailingNewlines(_ text: String) -> String {
        var result = Substring(text)
        while let last = result.last, last == "\n" || last == "\r" || last == "\r\n" {
            result = result.dropLast()
        }
        return String(result)
    }

    /// The names of the secret files in `dir` (regular files, or links to them; dotfiles and
    /// directories skipped), sorted.
    static func names(in dir: URL) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ValuesError.unreadable(file: dir.path, reason: "the secrets directory does not exist or is not a directory")
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        } catch {
            throw ValuesError.unreadable(file: dir.path, reason: "the secrets directory cannot be read (\(ValuesYAML.describe(error)))")
        }
        return entries.filter { name in
            guard !name.hasPrefix(".") else { return false }
            var entryIsDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &entryIsDir)
            return exists && !entryIsDir.boolValue
        }.sorted()
    }

    static let userPasswordPrefix = "console.additionalUsers."
    static let userPasswordSuffix = ".password"

    /// Fills the values from the secrets directory: every file named by a secret key
    /// (`ValuesSchema.secretKeys`, `console.additionalUsers.<username>.password`) replaces
    /// that value. Returns the values and the keys filled; warns about files that look like
    /// values keys but are not read.
    static func fill(_ root: JSON, from dir: URL, warnings: inout [ValuesProblem]) throws -> (JSON, Set<String>) {
        var result = root
        var filled: Set<String> = []
        for name in try names(in: dir) {
            if ValuesSchema.secretKeys.contains(name) {
                let value = try readSecret(named: name, in: dir)
                if value.isEmpty { continue }
                guard let path = try? ValuePath.parse(name), canSet(path, in: result) else { continue }
                result = SetArguments.set(result, path[...], .string(value))
                filled.insert(name)
            } else if name.hasPrefix(userPasswordPrefix), name.hasSuffix(userPasswordSuffix),
                      name.count > userPasswordPrefix.count + userPasswordSuffix.count {
                let username = String(name.dropFirst(userPasswordPrefix.count).dropLast(userPasswordSuffix.count))
                guard case .array(var users)? = result["console"]?["additionalUsers"] else {
                    warnings.append(ValuesProblem(key: name, message: "secret file for user \(JSON.quote(username)), "
                        + "who is not in console.additionalUsers; ignored"))
                    continue
                }
                let indexes = users.indices.filter { users[$0]["username"]?.stringValue == username }
                if indexes.isEmpty {
                    warnings.append(ValuesProblem(key: name, message: "secret file for user \(JSON.quote(username)), "
                        + "who is not in console.additionalUsers; ignored"))
                    continue
                }
                let value = try readSecret(named: name, in: dir)
                if value.isEmpty { continue }
                for i in indexes { users[i]["password"] = .string(value) }
                result = SetArguments.set(result, [.key("console"), .key("additionalUsers")], .array(users))
                filled.insert(name)
            } else if looksLikeValuesKey(name) {
                warnings.append(ValuesProblem(key: name, message: "secret file named like a values key the job does not "
                    + "fill from files (those are \(ValuesSchema.secretKeys.joined(separator: ", ")) and "
                    + "console.additionalUsers.<username>.password); only steps calling secret() read it"))
            }
        }
        return (result, filled)
    }

    /// Whether setting `path` keeps the kinds already there (a map where a map is expected).
    static func canSet(_ path: [PathComponent], in root: JSON) -> Bool {
        var current: JSON? = root
        for component in path.dropLast() {
            guard case .key(let key) = component else { return false }
            switch current {
            case nil, .null?: return true
            case .object(let object)?: current = object[key]
            default: return false
            }
        }
        return true
    }

    static func looksLikeValuesKey(_ name: String) -> Bool {
        guard let first = name.split(separator: ".").first, name.contains(".") else { return false }
        return ValuesSchema.fields.contains { $0.name == String(first) }
    }

    /// Every secret string in the values: the secret keys and the additional users' passwords.
    /// The admin's user name may come from the secrets directory but is not itself secret (it
    /// is shown in output, and masking a common word like "admin" would mangle every line).
    static func collect(_ root: JSON) -> [String] {
        var out: [String] = []
        func add(_ value: JSON?) {
            if case .string(let s)? = value, !s.isEmpty, !out.contains(s) { out.append(s) }
        }
        for key in ValuesSchema.secretKeys where !key.hasSuffix(".username") {
            add((try? ValuePath.parse(key)).flatMap { ValuePath.lookup($0, in: root) })
        }
        if case .array(let users)? = root["console"]?["additionalUsers"] {
            for user in users { add(user["password"]) }
        }
        return out
    }
}
