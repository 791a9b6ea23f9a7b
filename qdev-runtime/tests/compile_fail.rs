// SPDX-License-Identifier: GPL-2.0-or-later
//! Misuses of `#[qemu_device]` must fail to compile, with the error at the
//! attribute that makes the mistake. Each case in `tests/ui/` is a small
//! crate; its expected compiler output is the `.stderr` file beside it.
//!
//! Regenerate the expected output after a deliberate change of a message:
//! `TRYBUILD=overwrite cargo test -p qdev-runtime --test compile_fail`,
//! then read every changed `.stderr`.
//!
//! `tests/ui-pending/` holds cases whose expected output is what the macro
//! should report but does not yet; they are not run.

#[test]
fn misuse_is_a_compile_error_at_the_attribute() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
