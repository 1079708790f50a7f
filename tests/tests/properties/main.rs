//! Property tests on a real device (lavapipe in CI) with validation on: generated descriptions
//! and requests, any field anywhere in its range. Each case ends in one of two ways, and only
//! these: a typed error with the allocator's live count unchanged and no validation message, or
//! success with no validation message. A panic anywhere fails the case.
//!
//! One device serves every case of a test (a device per case would cost seconds each), and its
//! messages are drained after each case, so a message is blamed on the case that caused it.
//! Case counts scale with `PROPTEST_CASES` (default: each test's own count).

mod allocator_descs;
mod staging_requests;

use proptest::test_runner::{Config, TestRunner};

/// A runner with `cases` cases (or `PROPTEST_CASES`), no failure files: a failing case prints
/// its minimal input, which is what to paste into a regression test.
pub fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}
