//! Embeds the built-in labs (`static/labs/*.json`) in the web app, so they
//! open offline with no fetch.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=static/labs");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/labs");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// Built-in labs: (file name, text).\npub const STATIC_LABS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("lab.json");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("labs.rs");
    std::fs::write(dest, out).expect("write labs.rs");
}
