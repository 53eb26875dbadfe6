import Foundation

/// Where the package's files are, for the tests that read them (the steps, the docs, the chart).
public enum Project {
    /// The package root (this file is Tests/TestSupport/Project.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().standardized

    /// The project's steps directory (`steps/`).
    public static let steps = root.appendingPathComponent("steps")
}
