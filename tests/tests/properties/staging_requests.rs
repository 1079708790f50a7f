//! Generated staging requests (next commit).
