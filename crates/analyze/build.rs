//! Links the system OpenBLAS (Debian's `libopenblas-dev`, which carries
//! LAPACK) for ndarray-linalg's SVD, found through pkg-config as
//! openblas-src's `system` feature did. openblas-src is not used because it
//! always builds its OpenBLAS downloader (ureq, rustls, ring, tar) as a build
//! dependency, even when it only links the system library: about a tenth of
//! the crates of a clean build, for nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if pkg_config::Config::new().probe("openblas").is_err() {
        // No pkg-config file (or no pkg-config): the linker's default paths.
        println!("cargo:rustc-link-lib=dylib=openblas");
    }
}
