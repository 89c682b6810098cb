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

    /// The page's way through a lab: each step's commands typed (pasted) into
    /// the step's host terminal; every built-in lab with checks is solved so.
    #[test]
    fn following_the_steps_in_the_page_solves_every_lab() {
        let mut solved = 0;
        for l in super::builtin() {
            let mut s = crate::session::Session::new(l.text).unwrap();
            let lab = s.lab.clone().unwrap();
            if lab.checks.is_empty() {
                continue;
            }
            assert!(
                !crate::teach::all_pass(&s.checks),
                "{}: solved at the start",
                l.id
            );
            for st in &lab.steps {
                let hi = s.world.host_index(&st.host);
                for c in &st.commands {
                    let hi = hi.unwrap_or_else(|| panic!("{}: no host {}", l.id, st.host));
                    s.paste(hi, c);
                }
            }
            s.refresh_checks();
            let failing: Vec<_> = s.checks.iter().filter(|c| !c.pass).collect();
            assert!(failing.is_empty(), "{}: {failing:?}", l.id);
            solved += 1;
        }
        assert!(solved > 0, "no built-in lab has checks");
    }
}
