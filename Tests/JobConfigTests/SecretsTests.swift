import Foundation
import JSONModel
import XCTest
@testable import JobConfig

final class SecretsTests: XCTestCase {
    /// A directory laid out as the kubelet mounts a Secret: the data in a timestamped
    /// directory, `..data` linking to it, and one link per key.
    func makeKubernetesSecretDir(_ files: [String: String]) throws -> TempDir {
        let dir = try TempDir()
        let stamped = try dir.subdir("..2024_05_01_12_00_00.123456789")
        for (name, content) in files {
            try Data(content.utf8).write(to: stamped.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(atPath: dir.url.appendingPathComponent("..data").path,
                                                   withDestinationPath: stamped.lastPathComponent)
        for name in files.keys {
            try FileManager.default.createSymbolicLink(atPath: dir.url.appendingPathComponent(name).path,
                                                       withDestinationPath: "..data/\(name)")
        }
        return dir
    }

    func testSecretsDirectoryFillsValuesAndTheFileWins() throws {
        let secrets = try makeKubernetesSecretDir([
            "console.credentials.username": "admin\n",
            "console.credentials.password": "from-file-pw\n\n",
            "console.license": "LIC-FILE\r\n",
            "defender.proxy.password": "proxy-file-pw",
            "monitoring.password": "metrics-file-pw\n",
            "console.additionalUsers.alice.password": "alice-file-pw\n",
            "unrelated-key": "only for secret()",
        ])
        let yaml = """
        console:
          credentials: {password: from-values-pw}
          additionalUsers:
            - {username: alice, role: admin}
            - {username: bob, password: bob-values-pw, role: user}
        monitoring: {enabled: true}
        """
        let values = try loadValues([yaml], sets: [], secretsDir: secrets.url)
        XCTAssertEqual(values.string("console.credentials.username"), "admin")
        XCTAssertEqual(values.string("console.credentials.password"), "from-file-pw", "the file wins, newlines trimmed")
        XCTAssertEqual(values.string("console.license"), "LIC-FILE")
        XCTAssertEqual(values.string("defender.proxy.password"), "proxy-file-pw")
        XCTAssertEqual(values.string("monitoring.password"), "metrics-file-pw")
        XCTAssertEqual(values.string("console.additionalUsers[0].password"), "alice-file-pw")
        XCTAssertEqual(values.string("console.additionalUsers[1].password"), "bob-values-pw")
        XCTAssertEqual(Set(values.secrets), ["from-file-pw", "LIC-FILE", "proxy-file-pw", "metrics-file-pw",
                                             "alice-file-pw", "bob-values-pw"])
        XCTAssertFalse(values.secrets.contains("from-values-pw"), "the replaced value is no longer a value of the run")
        XCTAssertTrue(values.warnings.isEmpty, "\(values.warnings)")
        XCTAssertEqual(values.secretsDir, secrets.url)
    }

    func testSecretFilesForUnknownUsersAndLookalikeNamesWarn() throws {
        let secrets = try makeKubernetesSecretDir([
            "console.additionalUsers.zed.password": "pw",
            "console.credentials.pasword": "typo",
        ])
        let values = try loadValues([], secretsDir: secrets.url)
        XCTAssertEqual(values.warnings.map(\.key), ["console.additionalUsers.zed.password", "console.credentials.pasword"])
        XCTAssertTrue(values.warnings[0].message.contains("not in console.additionalUsers"), values.warnings[0].message)
        XCTAssertFalse(values.warnings.map(\.description).joined().contains("typo"), "a warning never holds the value")
    }

    func testPasswordFromAFileForANonBasicUserIsAnError() throws {
        let secrets = try makeKubernetesSecretDir(["console.additionalUsers.sam.password": "pw"])
        let found = problems(["console: {additionalUsers: [{username: sam, role: user, authType: saml}]}\n"],
                             secretsDir: secrets.url)
        XCTAssertEqual(found, ["console.additionalUsers[0].password: a password is only meaningful for basic users "
            + "(this user's authType is saml) (it comes from the secrets file console.additionalUsers.sam.password)"])
    }

    func testReadSecret() throws {
        let secrets = try makeKubernetesSecretDir(["token": "abc\n\n", "multi": "line1\nline2\n"])
        XCTAssertEqual(try ValuesLoader.readSecret(named: "token", in: secrets.url), "abc")
        XCTAssertEqual(try SecretsDirectory.readSecret(named: "multi", in: secrets.url), "line1\nline2",
                       "inner newlines stay, trailing ones go")
    }

    func testReadSecretRefusesTraversalAndHiddenNames() throws {
        let outer = try TempDir()
        try outer.write("outside", "do-not-read")
        let secrets = try outer.subdir("secrets")
        try Data("x".utf8).write(to: secrets.appendingPathComponent("ok"))
        for name in ["../outside", "a/b", "..", "..data", ".hidden", "", "x..y", "a\u{0}b"] {
            XCTAssertThrowsError(try SecretsDirectory.readSecret(named: name, in: secrets), name) { error in
                guard case ValuesError.secret(let reported, let reason) = error else {
                    return XCTFail("unexpected \(error)")
                }
                XCTAssertEqual(reported, name)
                XCTAssertTrue(reason.hasPrefix("a secret name cannot") || reason == "empty secret name", reason)
            }
        }
    }

    func testMissingSecretIsAClearError() throws {
        let secrets = try TempDir()
        XCTAssertThrowsError(try SecretsDirectory.readSecret(named: "license", in: secrets.url)) { error in
            XCTAssertEqual("\(error)", "secret \"license\": not found in the secrets directory \(secrets.url.path)")
        }
        let gone = secrets.url.appendingPathComponent("nope")
        XCTAssertThrowsError(try SecretsDirectory.readSecret(named: "license", in: gone)) { error in
            XCTAssertEqual("\(error)", "secret \"license\": the secrets directory \(gone.path) does not exist")
        }
        XCTAssertThrowsError(try ValuesLoader.load(files: [], sets: credentials, secretsDir: gone)) { error in
            XCTAssertTrue("\(error)".contains("the secrets directory does not exist"), "\(error)")
        }
    }

    func testEmptySecretFileDoesNotBlankAValue() throws {
        let secrets = try makeKubernetesSecretDir(["console.credentials.password": "\n"])
        let values = try loadValues([], secretsDir: secrets.url)
        XCTAssertEqual(values.string("console.credentials.password"), "s3cret-pw")
    }
}
