//! Stamps the git commit into the binary (`cl_build_info`), unless the
//! build environment already sets `CL_GIT_COMMIT` (a Docker build has no
//! .git). Outside a checkout it stays "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CL_GIT_COMMIT");
    if std::env::var_os("CL_GIT_COMMIT").is_some() {
        return;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) {
        println!("cargo:rustc-env=CL_GIT_COMMIT={commit}");
    }
    // A new commit changes HEAD (or the ref it points to).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
    }
}
