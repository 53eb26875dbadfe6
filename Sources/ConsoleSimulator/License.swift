import Foundation
import JSONModel

/// License keys the simulator accepts. A real Prisma Cloud Compute key is an opaque signed
/// blob; the simulator's keys are readable on purpose so tests can make any license they need.
///
/// Format: `SIM1-<payload>-<checksum>` where
/// - `payload` is base64url (no padding) of a JSON object
///   `{"customer_id": String, "expiration_date": RFC 3339 String, "type": String,
///     "defenders": Int}`; `type` is a license tier of the document's `shared.LicenseTier`
///   (`enterprise`, `evaluation`, `developer`, `oem`);
/// - `checksum` is the first 16 hex digits of SHA-256 over `"SIM1-" + payload`.
///
/// `POST settings/license {"key"}` with anything else answers 400. An expired key installs;
/// `GET settings/license` then reports its past `expiration_date` (the job must notice).
public struct SimulatorLicense: Sendable, Hashable {
    public var customerID: String
    public var expirationDate: Date
    public var tier: String
    public var defenders: Int

    public init(customerID: String = "sim-customer", expirationDate: Date, tier: String = "enterprise", defenders: Int = 100) {
        self.customerID = customerID
        self.expirationDate = expirationDate
        self.tier = tier
        self.defenders = defenders
    }

    public static let tiers = ["enterprise", "evaluation", "developer", "oem"]

    /// A key for this license.
    public var key: String {
        let payload: JSON = [
            "customer_id": .string(customerID),
            "expiration_date": .string(RFC3339.format(expirationDate)),
            "type": .string(tier),
            "defenders": .int(Int64(defenders)),
        ]
        let body = Base64URL.encode(Array(payload.encoded().utf8))
        return "SIM1-\(body)-\(Self.checksum(body))"
    }

    /// Makes a simulator license key (see the type's documentation for the format).
    public static func makeKey(customer: String = "sim-customer", expires: Date, tier: String = "enterprise", defenders: Int = 100) -> String {
        SimulatorLicense(customerID: customer, expirationDate: expires, tier: tier, defenders: defenders).key
    }

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            if case .malformed(let why) = self { return "invalid license key: \(why)" }
            return "invalid license key"
        }
    }

    /// Reads a key; throws for anything that is not a well-formed simulator key.
    public static func parse(_ key: String) throws -> SimulatorLicense {
        let trimmed = key.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        // base64url may contain "-": the prefix is the first part, the checksum the last.
        guard parts.count >= 3, parts[0] == "SIM1" else { throw ParseError.malformed("not a SIM1 key") }
        let checksum = parts[parts.count - 1]
        let body = parts[1..<(parts.count - 1)].joined(separator: "-")
        guard checksum == Self.checksum(body) else { throw ParseError.malformed("checksum mismatch") }
        guard let bytes = Base64URL.decode(body), let json = try? JSON.parse(bytes: bytes) else {
            throw ParseError.malformed("payload is not base64url JSON")
        }
        guard let customer = json["customer_id"]?.stringValue, !customer.isEmpty else {
            throw ParseError.malformed("customer_id missing")
        }
        guard let exp = json["expiration_date"]?.stringValue, let date = RFC3339.parse(exp) else {
            throw ParseError.malformed("expiration_date missing or not RFC 3339")
        }
        let tier = json["type"]?.stringValue ?? "enterprise"
        guard tiers.contains(tier) else { throw ParseError.malformed("unknown type \(tier)") }
        let defenders = json["defenders"]?.intValue ?? 0
        guard defenders >= 0 else { throw ParseError.malformed("negative defenders") }
        return SimulatorLicense(customerID: customer, expirationDate: date, tier: tier, defenders: defenders)
    }

    static func checksum(_ body: String) -> String {
        String(SHA256.hex("SIM1-" + body).prefix(16))
    }

    /// The `shared.License` object the console reports for this license.
    func licenseObject(issued: Date) -> JSON {
        [
            "customer_id": .string(customerID),
            "contract_id": .string("sim-contract-" + String(SHA256.hex(customerID).prefix(8))),
            "contract_type": "host",
            "expiration_date": .string(RFC3339.format(expirationDate)),
            "issue_date": .string(RFC3339.format(issued)),
            "type": .string(tier),
            "defenders": .int(Int64(defenders)),
            "workloads": .int(Int64(defenders)),
            "credits": .int(Int64(defenders) * 7),
            "defender_details": [
                ["category": "container", "count": .int(Int64(defenders))],
                ["category": "host", "count": .int(Int64(defenders))],
                ["category": "serverless", "count": .int(Int64(defenders) * 6)],
            ],
        ]
    }
}
