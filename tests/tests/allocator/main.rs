//! Integration tests of the `allocator` crate on a real device (lavapipe in CI) with validation
//! and synchronization validation on. Every test owns its `Gpu`, which fails the test on any
//! validation message when dropped.

mod bad_input;
mod handles;
mod host_access;
mod leaks;
mod lifecycle;
mod out_of_memory;
mod placed;
mod threads;
