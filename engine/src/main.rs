//! `iptplay`: the playground on the command line.

fn main() {
    std::process::exit(engine::cli::main());
}
