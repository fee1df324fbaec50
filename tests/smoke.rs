#[test]
fn runs() { let s = std::process::Command::new(env!("CARGO_BIN_EXE_nsenter")).status().unwrap(); assert_eq!(s.code(), Some(3)); }
