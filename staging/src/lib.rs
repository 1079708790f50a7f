//! Stateless upload utilities that record into the caller's command buffers.
//!
//! This crate will hold buffer and image uploads through bounded staging memory, barriers in
//! render-graph terms (stage, access, layout, queue family), mip generation and readback. It
//! submits nothing on its own and keeps no global state. Its work is tracked as its own issue; until
//! then the crate holds only this note.
