import ArgumentParser
import Foundation

public enum StepsLocator {
    /// The job's own steps: the flag, $TWISTLOCK_INIT_STEPS, ./steps, beside the binary
    /// (../share/twistlock-init/steps or ./steps), then the source tree's (for `swift run`).
    public static func builtin(_ flag: String?) throws -> URL {
        let fm = FileManager.default
        var candidates: [String] = []
        if let flag { candidates.append(flag) }
        if let env = ProcessInfo.processInfo.environment["TWISTLOCK_INIT_STEPS"], !env.isEmpty { candidates.append(env) }
        candidates.append(fm.currentDirectoryPath + "/steps")
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("../share/twistlock-init/steps").standardized.path)
        candidates.append(exe.appendingPathComponent("steps").path)
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../steps").standardized.path)
        for c in candidates where fm.fileExists(atPath: c + "/manifest.yaml") {
            return URL(fileURLWithPath: c, isDirectory: true)
        }
        if let flag { throw ValidationError("--builtin-steps \(flag): no manifest.yaml there") }
        throw ValidationError("cannot find the job's steps directory (looked in: \(candidates.joined(separator: ", "))); pass --builtin-steps")
    }
}
