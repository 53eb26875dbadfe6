import CLua
import Foundation
import JSONModel

/// `require` from disk: the prelude's `require` asks the host for `lib/x/y.lua` in the steps
/// directories.
extension LuaVM {
    func readLibrary(_ L: OpaquePointer) throws -> Int32 {
        let name = try bridge.string(at: 1)
        guard !name.contains(".."), !name.contains("/"), !name.contains("\\"), !name.hasPrefix("."), !name.isEmpty else {
            throw LuaBridge.PathlessError(message: "invalid module name \(JSON.quote(name))")
        }
        let relative = name.replacingOccurrences(of: ".", with: "/") + ".lua"
        for directory in libraryDirectories {
            let url = directory.appendingPathComponent("lib").appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            // A link may not lead out of the steps directory (as step files may not): the
            // library is read through its resolved path, and its target is never named.
            guard let real = LuaVM.resolveInside(url.path, directory: directory.path) else {
                throw LuaBridge.PathlessError(message: "\(directory.lastPathComponent)/lib/\(relative) is a link that points outside the steps directory \(directory.path); refused")
            }
            // A FIFO, a device or an oversize file is refused without hanging or filling memory.
            let text: String
            do {
                text = try RegularFile.text(real)
            } catch let refusal as RegularFile.Refusal {
                throw LuaBridge.PathlessError(message: "\(url.path) \(refusal.reason)")
            }
            bridge.pushString(text)
            bridge.pushString("\(directory.lastPathComponent)/lib/\(relative)")
            return 2
        }
        lua_pushnil(L)
        return 1
    }

    /// `path` with every link and `.`/`..` resolved, when that lies inside `directory` (itself
    /// resolved); nil otherwise (outside, or a dangling link). Compared byte for byte.
    static func resolveInside(_ path: String, directory: String) -> String? {
        func real(_ p: String) -> String? {
            guard let r = realpath(p, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        guard let dir = real(directory), let file = real(path) else { return nil }
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        guard file.utf8.count > prefix.utf8.count, file.utf8.starts(with: prefix.utf8) else { return nil }
        return file
    }

}
