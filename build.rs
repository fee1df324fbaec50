//! Links the nsenter binary without unwind tables: no `.eh_frame_hdr`
//! index, and a script that drops `.eh_frame`. Only the binary: the std
//! test binaries need both to unwind panics.

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{manifest_dir}/link/discard-eh-frame.ld");
    println!("cargo:rerun-if-changed=link/discard-eh-frame.ld");
}
