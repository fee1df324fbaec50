#![no_std]
pub fn hello() -> i32 { 3 }
#[cfg(test)]
mod tests { #[test] fn t() { assert_eq!(super::hello(), 3); } }
