import ArgumentParser
import Foundation
import TwistlockInit

/// The entry point of the project's commands (`twistlock-init`, `twistlock-demo`; issue 13,
/// points 4 and 5). ArgumentParser's own `main` exits 64 for a parse error, where the help
/// promises 2, and prints usage around it; here every invalid flag or flag value — a parse
/// error or a validation error, thrown while parsing or when a command reads its options — is
/// exit 2 with one line naming the flag, while `--help` and `--version` stay exit 0 and a
/// command's own exit code passes through. SIGPIPE is ignored first: output to a closed pipe
/// is dropped (`SafeOutput`), never fatal.
public enum CommandMain {
    /// Parses the arguments as `Root`, runs the command and exits. `invalidCode`: the exit code
    /// of an invalid flag (2, or what the arguments make it mean).
    public static func main<Root: ParsableCommand>(_ root: Root.Type, invalidCode: () -> Int32 = { 2 }) -> Never {
        SafeOutput.prepareStandardStreams()
        var command: ParsableCommand
        do {
            command = try Root.parseAsRoot()
        } catch {
            exitForParse(error, root, invalidCode: invalidCode())
        }
        do {
            try command.run()
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            exitForParse(error, root, invalidCode: invalidCode())
        }
        exit(0)
    }

    /// Help and version: shown, exit 0. Anything else: one line on stderr, exit `invalidCode`.
    static func exitForParse<Root: ParsableCommand>(_ error: Error, _ root: Root.Type, invalidCode: Int32) -> Never {
        let code = Root.exitCode(for: error)
        if code == .success {
            SafeOutput.line(Root.fullMessage(for: error))
            exit(0)
        }
        if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
        let message = Root.message(for: error)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
        let name = Root.configuration.commandName ?? "twistlock-init"
        SafeOutput.errorLine("\(name): error: \(TextSafety.escape(message)) (exit \(invalidCode); see --help)")
        exit(invalidCode)
    }
}
