import ArgumentParser
import Foundation
import TwistlockInit

/// The entry point (issue 13, points 4 and 5). ArgumentParser's own `main` exits 64 for a
/// parse error, where the help promises 2, and prints usage around it; here every invalid
/// flag or flag value — a parse error or a validation error, thrown while parsing or when a
/// command reads its options — is exit 2 with one line naming the flag, while `--help` and
/// `--version` stay exit 0 and a command's own exit code passes through. SIGPIPE is ignored
/// first: output to a closed pipe is dropped (`SafeOutput`), never fatal.
@main
enum TwistlockInitMain {
    static func main() {
        SafeOutput.prepareStandardStreams()
        var command: ParsableCommand
        do {
            command = try TwistlockInitCommand.parseAsRoot()
        } catch {
            exitForParse(error)
        }
        do {
            try command.run()
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            exitForParse(error)
        }
        exit(0)
    }

    /// Help and version: shown, exit 0. Anything else: one line on stderr, exit 2.
    static func exitForParse(_ error: Error) -> Never {
        let code = TwistlockInitCommand.exitCode(for: error)
        if code == .success {
            SafeOutput.line(TwistlockInitCommand.fullMessage(for: error))
            exit(0)
        }
        if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
        let message = TwistlockInitCommand.message(for: error)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
        // Under `plan --detailed-exitcode` 2 means "changes": an invalid flag is an error, 1
        // (Terraform's meaning).
        let invalid: Int32 = CommandLine.arguments.contains("--detailed-exitcode") ? 1 : 2
        SafeOutput.errorLine("twistlock-init: error: \(TextSafety.escape(message)) (exit \(invalid); see --help)")
        exit(invalid)
    }
}
