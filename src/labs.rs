//! The built-in labs: the playground's own first lab, then every
//! `static/labs/*.json` (embedded at build time).

include!(concat!(env!("OUT_DIR"), "/labs.rs"));

/// The lab that opens first.
pub const DEFAULT_LAB: &str = include_str!("default-lab.json");

/// A built-in lab: id (file name), title and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIn {
    pub id: String,
    pub title: String,
    pub text: &'static str,
}

fn title_of(text: &str, fallback: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// Every built-in lab, the default first.
pub fn builtin() -> Vec<BuiltIn> {
    let mut v = vec![BuiltIn {
        id: "default".into(),
        title: title_of(DEFAULT_LAB, "Firewall"),
        text: DEFAULT_LAB,
    }];
    for (name, text) in STATIC_LABS {
        v.push(BuiltIn {
            id: name.trim_end_matches(".json").to_string(),
            title: title_of(text, name),
            text,
        });
    }
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_lab_loads() {
        for l in super::builtin() {
            let s = crate::session::Session::new(l.text);
            assert!(s.is_ok(), "{}: {:?}", l.id, s.err());
        }
    }
}
