//! The built-in labs: the playground's own first lab (embedded, so the page
//! opens with it at once), then every `static/labs/*.json`, listed by a
//! build-time index and fetched from `labs/ID.json` when opened.

include!(concat!(env!("OUT_DIR"), "/labs.rs"));

/// The lab that opens first.
pub const DEFAULT_LAB: &str = include_str!("default-lab.json");

/// The id of the embedded lab.
pub const DEFAULT_ID: &str = "default";

/// A built-in lab: id (file name without `.json`) and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIn {
    pub id: &'static str,
    pub title: &'static str,
}

/// The default lab's title (its "name").
pub fn default_title() -> String {
    serde_json::from_str::<serde_json::Value>(DEFAULT_LAB)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Firewall".to_string())
}

/// Every built-in lab but the default, in file-name order.
pub fn served() -> impl Iterator<Item = BuiltIn> {
    STATIC_LABS.iter().map(|&(id, title)| BuiltIn { id, title })
}

/// Where the page fetches a served lab from (relative to the page), if the
/// id is one of them.
pub fn url_of(id: &str) -> Option<String> {
    served()
        .find(|l| l.id == id)
        .map(|l| format!("labs/{}.json", l.id))
}

#[cfg(test)]
mod tests {
    /// Every built-in lab's text, read where the page fetches it from.
    fn all() -> Vec<(String, String)> {
        let mut v = vec![(
            super::DEFAULT_ID.to_string(),
            super::DEFAULT_LAB.to_string(),
        )];
        for l in super::served() {
            let path = format!(
                "{}/static/{}",
                env!("CARGO_MANIFEST_DIR"),
                super::url_of(l.id).unwrap()
            );
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            v.push((l.id.to_string(), text));
        }
        v
    }

    #[test]
    fn the_index_lists_every_lab_file_with_its_title() {
        let dir = format!("{}/static/labs", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        files.sort();
        let ids: Vec<String> = super::served().map(|l| format!("{}.json", l.id)).collect();
        assert_eq!(ids, files);
        for l in super::served() {
            let text = std::fs::read_to_string(format!("{dir}/{}.json", l.id)).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(Some(l.title), v["name"].as_str(), "{}", l.id);
        }
        assert_eq!(super::default_title(), "Firewall between two networks");
        assert_eq!(
            super::url_of("02-allow").as_deref(),
            Some("labs/02-allow.json")
        );
        assert_eq!(super::url_of("../secret"), None);
        assert_eq!(super::url_of(super::DEFAULT_ID), None);
    }

    #[test]
    fn every_builtin_lab_loads() {
        for (id, text) in all() {
            let s = crate::session::Session::new(&text);
            assert!(s.is_ok(), "{id}: {:?}", s.err());
        }
    }

    /// The page's way through a lab: each step's commands typed (pasted) into
    /// the step's host terminal; every built-in lab with checks is solved so.
    #[test]
    fn following_the_steps_in_the_page_solves_every_lab() {
        let mut solved = 0;
        for (id, text) in all() {
            let mut s = crate::session::Session::new(&text).unwrap();
            let lab = s.lab.clone().unwrap();
            if lab.checks.is_empty() {
                continue;
            }
            assert!(
                !crate::teach::all_pass(&s.checks),
                "{id}: solved at the start"
            );
            for st in &lab.steps {
                let hi = s.world.host_index(&st.host);
                for c in &st.commands {
                    let hi = hi.unwrap_or_else(|| panic!("{id}: no host {}", st.host));
                    s.paste(hi, c);
                }
            }
            s.refresh_checks();
            let failing: Vec<_> = s.checks.iter().filter(|c| !c.pass).collect();
            assert!(failing.is_empty(), "{id}: {failing:?}");
            solved += 1;
        }
        assert!(solved > 0, "no built-in lab has checks");
    }
}
