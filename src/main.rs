//! Browser playground entry point (the Yew front end grows here).

fn main() {
    let _ = engine::VERSION;
}
