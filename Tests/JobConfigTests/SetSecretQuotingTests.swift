import JobConfig
import XCTest

/// `--set` and `--set-string` errors and secrets (docs/reliability.md, "Secrets").
final class SetSecretQuotingTests: XCTestCase {
    /// `--set` errors after the `=` of a secret key quote nothing of what follows: the
    /// issue's example (a comma in a password) and other spellings.
    func testSetErrorsNeverQuoteAnythingAfterASecretKeysEquals() throws {
        let cases: [(String, [String])] = [
            ("console.credentials.password=Adm1n,Secret-Pa55", ["Adm1n", "Secret-Pa55"]),
            ("console.license=LIC-part1,LIC.part2[x]=y", ["LIC-part1", "LIC.part2", "part2"]),
            ("monitoring.password=Mon1t,or[99999999]=x", ["Mon1t", "or[", "99999999"]),
            ("console.additionalUsers[0].password=Us3r,Pa]ss", ["Us3r", "Pa]ss"]),
            ("defender.proxy.password=Pr0xy\\", ["Pr0xy"]),
            ("console.credentials.password={Adm1n,Secr3t", ["Adm1n", "Secr3t"]),
        ]
        for (argument, hidden) in cases {
            for asString in [false, true] {
                do {
                    _ = try SetArguments.parse(argument, forceString: asString)
                    XCTFail("\(argument) parsed")
                } catch {
                    let text = "\(error)"
                    for h in hidden { XCTAssertFalse(text.contains(h), "\(argument): \(text) shows \(h)") }
                    XCTAssertTrue(text.contains(asString ? "--set-string" : "--set"), text)
                }
            }
        }
        // Through the loader (what run, plan and list print).
        do {
            _ = try ValuesLoader.load(files: [], sets: ["console.credentials.password=Adm1n,Secret-Pa55"], secretsDir: nil)
            XCTFail("loaded")
        } catch {
            XCTAssertFalse("\(error)".contains("Secret-Pa55"), "\(error)")
            XCTAssertFalse("\(error)".contains("Adm1n"), "\(error)")
            XCTAssertTrue("\(error)".contains("console.credentials.password"), "\(error)")
        }
        // A key that is not secret is still quoted, as before.
        XCTAssertThrowsError(try SetArguments.parse("ok.name=1,broken")) { error in
            XCTAssertTrue("\(error)".contains("\"broken\" has no value"), "\(error)")
        }
    }
}
