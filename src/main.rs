//! Browser playground entry point: mounts the Yew app (built by trunk).

#[cfg(target_arch = "wasm32")]
fn main() {
    playground::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the playground runs in a browser: ./scripts/play.sh builds and serves it");
}
