//! Links the system's TurboJPEG library (libjpeg-turbo 2.x, Debian's `libturbojpeg0-dev`;
//! see src/jpeg/): statically when the build is (`-C target-feature=+crt-static`, the VM
//! rig's binaries), dynamically otherwise. When cross-compiling, it is looked for in the
//! target's multiarch directory (`/usr/lib/aarch64-linux-gnu` for a Raspberry Pi build).

fn main() {
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_build = features.split(',').any(|f| f == "crt-static");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target != host || static_build {
        let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
        println!("cargo:rustc-link-search=native=/usr/lib/{arch}-linux-gnu");
    }
    println!("cargo:rustc-link-lib={}=turbojpeg", if static_build { "static" } else { "dylib" });
    println!("cargo:rerun-if-changed=build.rs");
}
