//! Syntax: the pest grammar's parser and the plain syntax tree it builds.

pub mod ast;
pub mod keywords;
pub mod lexer;
pub mod nesting;
pub mod parser;
pub mod shift;

pub use parser::{parse, Parsed};
