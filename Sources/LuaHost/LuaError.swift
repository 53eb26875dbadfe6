/// A failed Lua run (or a failure setting up the VM).
public struct LuaError: Error, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The chunk does not compile.
        case syntax
        /// A Lua error (`error(...)`, a bad argument, indexing nil, ...).
        case runtime
        /// The chunk touched something steps may not use (`os.execute`, `io`, `require("../x")`).
        case sandbox
        /// The run used more instructions than its budget.
        case instructionLimit
        /// The Lua state reached its memory ceiling.
        case memoryLimit
        /// `LuaVM.interrupt(reason:)` stopped the run.
        case interrupted
        /// A host function threw; `underlying` is what it threw.
        case hostError
    }

    public var kind: Kind
    /// The message, without the `file:line: ` prefix.
    public var message: String
    /// The chunk the error happened in (`steps/users.lua`), when known.
    public var file: String?
    public var line: Int?
    /// Lua's stack traceback (without the "stack traceback:" header), when available.
    public var traceback: String?
    /// For `.hostError`: the Swift error the host function threw.
    public var underlying: Error?

    public init(kind: Kind, message: String, file: String? = nil, line: Int? = nil, traceback: String? = nil, underlying: Error? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.traceback = traceback
        self.underlying = underlying
    }

    /// `file:line: message` (as much of the location as is known).
    public var description: String {
        switch (file, line) {
        case (let file?, let line?): return "\(file):\(line): \(message)"
        case (let file?, nil): return "\(file): \(message)"
        default: return message
        }
    }

    /// Splits Lua's `chunk:line: message` into its parts.
    static func splitLocation(_ text: String) -> (file: String?, line: Int?, rest: String) {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\n" { break }
            if c == ":" && i > 0 {
                var j = i + 1
                while j < scalars.count, ("0"..."9").contains(scalars[j]) { j += 1 }
                // A location is `chunk:line:` with a line that has no leading zero, and a chunk
                // name that is not message text (no ": " in it): a time like `T10:00:00Z` or
                // `12:34:56` inside a message (`error(msg, 0)`) is not a location.
                if j > i + 1, j < scalars.count, scalars[j] == ":", scalars[i + 1] != "0",
                   !String(String.UnicodeScalarView(scalars[0..<i])).contains(": ") {
                    let file = String(String.UnicodeScalarView(scalars[0..<i]))
                    let line = Int(String(String.UnicodeScalarView(scalars[(i + 1)..<j])))
                    var restStart = j + 1
                    if restStart < scalars.count, scalars[restStart] == " " { restStart += 1 }
                    let rest = String(String.UnicodeScalarView(scalars[restStart...]))
                    return (file, line, rest)
                }
            }
            i += 1
        }
        return (nil, nil, text)
    }

    /// The first Lua (not C) frame of a traceback: `\tsteps/x.lua:3: in main chunk`.
    static func firstLuaFrame(_ traceback: String) -> (file: String, line: Int)? {
        for raw in traceback.split(separator: "\n") {
            let frame = raw.trimmingLeadingWhitespace()
            if frame.hasPrefix("[C]") || frame.hasPrefix("(...") { continue }
            let (file, line, _) = splitLocation(frame)
            if let file, let line, !file.hasPrefix("[luahost") { return (file, line) }
        }
        return nil
    }
}

extension Substring {
    func trimmingLeadingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }))
    }
}
