//! Indexes the built-in labs (`static/labs/*.json`) for the web app: each
//! lab's id (file name) and title. The labs themselves are served beside the
//! page (trunk copies `static/labs` to `dist/labs`) and fetched when opened,
//! so they do not weigh on the first load.

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
        "/// Built-in labs served as `labs/ID.json`: (id, title).\npub const STATIC_LABS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let id = f
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("lab")
            .to_string();
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let title = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("{id}.json"));
        let _ = writeln!(out, "    ({id:?}, {title:?}),");
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("labs.rs");
    std::fs::write(dest, out).expect("write labs.rs");
}
