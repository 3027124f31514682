// Passes ESP-IDF's link arguments to the linker, and rebuilds when the build-time settings change.
fn main() {
    println!("cargo:rerun-if-env-changed=WIFI_CONFIG");
    println!("cargo:rerun-if-env-changed=IROH_SECRET");
    embuild::espidf::sysenv::output();
}
