import TwistlockInitCLI

/// The entry point: `CommandMain` (invalid flags exit 2 with one line, SIGPIPE ignored).
@main
enum TwistlockInitMain {
    static func main() {
        // Under `plan --detailed-exitcode` 2 means "changes": an invalid flag is an error, 1
        // (Terraform's meaning).
        CommandMain.main(TwistlockInitCommand.self) {
            CommandLine.arguments.contains("--detailed-exitcode") ? 1 : 2
        }
    }
}
