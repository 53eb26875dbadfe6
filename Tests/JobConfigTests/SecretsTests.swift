import Foundation
import JSONModel
import TestSupport
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
            "console.additionalUsers.zed.password": "pw-long",
            "console.credentials.pasword": "typo",
        ])
        let values = try loadValues([], secretsDir: secrets.url)
        XCTAssertEqual(values.warnings.map(\.key), ["console.additionalUsers.zed.password", "console.credentials.pasword"])
        XCTAssertTrue(values.warnings[0].message.contains("not in console.additionalUsers"), values.warnings[0].message)
        XCTAssertFalse(values.warnings.map(\.description).joined().contains("typo"), "a warning never holds the value")
    }

    func testPasswordFromAFileForANonBasicUserIsAnError() throws {
        let secrets = try makeKubernetesSecretDir(["console.additionalUsers.sam.password": "pw-long"])
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

    // MARK: links (issue 8, finding 5)

    func testKubernetesLinksWithinTheDirectoryAreFollowedEvenWhenTheDirectoryIsALink() throws {
        let secrets = try makeKubernetesSecretDir(["console.license": "LIC-LINKED\n", "token": "tok"])
        // A link inside the directory to another entry of it (not the ..data layout) works too.
        try FileManager.default.createSymbolicLink(atPath: secrets.url.appendingPathComponent("alias").path,
                                                   withDestinationPath: "token")
        XCTAssertEqual(try SecretsDirectory.readSecret(named: "console.license", in: secrets.url), "LIC-LINKED")
        XCTAssertEqual(try SecretsDirectory.readSecret(named: "alias", in: secrets.url), "tok")
        // The directory itself reached through a link (its real path is what counts).
        let outer = try TempDir()
        let linkedDir = outer.url.appendingPathComponent("secrets-link")
        try FileManager.default.createSymbolicLink(atPath: linkedDir.path, withDestinationPath: secrets.url.path)
        XCTAssertEqual(try SecretsDirectory.readSecret(named: "token", in: linkedDir), "tok")
        let values = try loadValues([], secretsDir: linkedDir)
        XCTAssertEqual(values.string("console.license"), "LIC-LINKED")
        // After the kubelet's update (..data switched to a new timestamped directory).
        let newer = try secrets.subdir("..2024_06_01_00_00_00.000000001")
        try Data("LIC-NEW".utf8).write(to: newer.appendingPathComponent("console.license"))
        try Data("tok2".utf8).write(to: newer.appendingPathComponent("token"))
        let data = secrets.url.appendingPathComponent("..data")
        try FileManager.default.removeItem(at: data)
        try FileManager.default.createSymbolicLink(atPath: data.path, withDestinationPath: newer.lastPathComponent)
        XCTAssertEqual(try SecretsDirectory.readSecret(named: "console.license", in: secrets.url), "LIC-NEW")
    }

    func testALinkLeadingOutOfTheSecretsDirectoryIsRefusedWithoutReadingIt() throws {
        let outer = try TempDir()
        let outsideText = "OUTSIDE-CONTENT-5e1f"
        let outsideFile = try outer.write("outside.txt", outsideText)
        let secrets = try outer.subdir("secrets")
        let stamped = secrets.appendingPathComponent("..2024_05_01", isDirectory: true)
        try FileManager.default.createDirectory(at: stamped, withIntermediateDirectories: true)
        let fm = FileManager.default
        // An absolute link, a relative one climbing out, one through ..data pointing out, a link
        // to a link outside, and one to an /etc/passwd-like file elsewhere on the system.
        let passwdLike = try TempDir()
        let passwd = try passwdLike.write("passwd", "root:x:0:0:root:/root:/bin/bash\n")
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("abs").path, withDestinationPath: outsideFile.path)
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("rel").path, withDestinationPath: "../outside.txt")
        try fm.createSymbolicLink(atPath: stamped.appendingPathComponent("deep").path, withDestinationPath: "../../outside.txt")
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("..data").path, withDestinationPath: stamped.lastPathComponent)
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("deep").path, withDestinationPath: "..data/deep")
        try fm.createSymbolicLink(atPath: outer.url.appendingPathComponent("hop").path, withDestinationPath: outsideFile.path)
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("hop").path, withDestinationPath: "../hop")
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("passwd").path, withDestinationPath: passwd.path)
        // A prefix trick: "secrets-evil" starts with the directory's path but is not inside it.
        let sibling = try outer.subdir("secrets-evil")
        try Data("SIBLING".utf8).write(to: sibling.appendingPathComponent("x"))
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("sib").path, withDestinationPath: "../secrets-evil/x")
        // Canonically equivalent but different on disk: "é" precomposed (the directory) and
        // "e" + U+0301 (a sibling) — compared as bytes, not as Swift strings.
        let composed = try outer.subdir("caf\u{E9}")
        let decomposed = try outer.subdir("cafe\u{301}")
        try Data("DECOMPOSED".utf8).write(to: decomposed.appendingPathComponent("x"))
        try fm.createSymbolicLink(atPath: composed.appendingPathComponent("twin").path, withDestinationPath: "../cafe\u{301}/x")
        XCTAssertThrowsError(try SecretsDirectory.readSecret(named: "twin", in: composed)) { error in
            XCTAssertTrue("\(error)".contains("points outside the secrets directory"), "\(error)")
        }
        for name in ["abs", "rel", "deep", "hop", "passwd", "sib"] {
            XCTAssertThrowsError(try SecretsDirectory.readSecret(named: name, in: secrets), name) { error in
                let text = "\(error)"
                XCTAssertEqual(text, "secret \"\(name)\": \(secrets.appendingPathComponent(name).path) is a link that points "
                    + "outside the secrets directory \(secrets.path); refused (only links within the directory, as Kubernetes "
                    + "makes them, are followed)")
                XCTAssertFalse(text.contains(outsideText) || text.contains("root:x") || text.contains("SIBLING"), text)
            }
        }
        // Through the values: a secret key's file leading outside fails the load, naming it.
        try fm.createSymbolicLink(atPath: secrets.appendingPathComponent("console.credentials.password").path,
                                  withDestinationPath: passwd.path)
        XCTAssertThrowsError(try loadValues([], secretsDir: secrets)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("secret \"console.credentials.password\": "), text)
            XCTAssertTrue(text.contains("points outside the secrets directory"), text)
            XCTAssertFalse(text.contains("root:x"), text)
        }
    }

    func testABrokenLinkIsNotASecret() throws {
        let secrets = try TempDir()
        try FileManager.default.createSymbolicLink(atPath: secrets.url.appendingPathComponent("gone").path,
                                                   withDestinationPath: "..data/gone")
        XCTAssertThrowsError(try SecretsDirectory.readSecret(named: "gone", in: secrets.url)) { error in
            XCTAssertEqual("\(error)", "secret \"gone\": not found in the secrets directory \(secrets.url.path)")
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
