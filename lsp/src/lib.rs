//! Canon's language server (`canon lsp`): diagnostics as you type, hover,
//! go to definition, references, symbols, completion and formatting over the
//! compiler's salsa database.
//!
//! Only [`server`] knows the protocol. [`analysis`] holds the package and
//! answers in byte offsets and plain data ([`completion`] and the quick fixes
//! extend it, as do the inlay hints; completion learns types while a line
//! does not parse from a quick check of the item around the cursor, in
//! `probe`), [`index`] resolves every identifier of a file, and [`text`]
//! converts byte offsets to UTF-16 positions. See docs/lsp.md.

pub mod analysis;
pub mod completion;
mod fixes;
mod hints;
pub mod index;
mod probe;
pub mod server;
pub mod text;
mod walk;

pub use server::{run_stdio, service};
