//! Every upstream extension test row that the real iptables-nft 1.8.9
//! accepts (`shared/data/upstream-t/t-cases-nft-1.8.9.tsv`), through kernel
//! mode: applied by us, the real `iptables-nft-save` prints exactly the
//! reference's saved text, `iptables-nft -D` by the row's own spec finds
//! what we wrote, and our import prints what the real save prints. Rows are
//! applied table by table in one transaction each. Root only.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
mod kernel_common;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::kernel_common::{skip, strip, text_of, Ns};
    use std::collections::{BTreeMap, HashMap};

    struct Row {
        ext: String,
        table: String,
        chain: String,
        rule: String,
        save: String,
        prereq: Vec<String>,
    }

    fn rows() -> Option<Vec<Row>> {
        let dir = common::shared_dir()?.join("data/upstream-t");
        let text = std::fs::read_to_string(dir.join("t-cases-nft-1.8.9.tsv")).expect("tsv");
        let upstream = std::fs::read_to_string(dir.join("iptables-t-cases.tsv")).expect("tsv");
        let mut pre: HashMap<(String, String), Vec<String>> = HashMap::new();
        for l in upstream.lines().skip(1) {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() > 10 && !f[10].is_empty() {
                pre.insert(
                    (f[0].into(), f[1].into()),
                    f[10].split(" | ").map(String::from).collect(),
                );
            }
        }
        let mut out = Vec::new();
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split('\t').collect();
            if f[6] != "0" {
                continue;
            }
            out.push(Row {
                ext: f[0].into(),
                table: f[2].into(),
                chain: f[3].into(),
                rule: f[4].into(),
                save: f[7].into(),
                prereq: pre
                    .get(&(f[0].to_string(), f[1].to_string()))
                    .cloned()
                    .unwrap_or_default(),
            });
        }
        Some(out)
    }

    /// `-c PKTS,BYTES` left out (iptables refuses counters with `-D`).
    fn without_counters(rule: &str) -> String {
        match rule.find("-c ") {
            Some(i) => {
                let rest = &rule[i + 3..];
                let end = rest.find(' ').map_or(rest.len(), |e| e + 1);
                format!("{}{}", &rule[..i], &rest[end..])
            }
            None => rule.to_string(),
        }
    }

    /// Restore-file lines of a prerequisite command (`iptables -I INPUT ...`).
    fn prereq_line(cmd: &str) -> Option<(String, String)> {
        let rest = cmd.strip_prefix("iptables -I ")?;
        Some(("filter".into(), format!("-A {rest}")))
    }

    #[test]
    fn upstream_rows_apply_save_delete_and_import_like_iptables() {
        if skip(&["nft", "nfacct"]) {
            return;
        }
        let Some(rows) = rows() else { return };
        // Batches: table, and whether the rows need the rate estimators.
        let mut batches: BTreeMap<(String, bool), Vec<&Row>> = BTreeMap::new();
        for r in &rows {
            let est = r.prereq.iter().any(|p| p.contains("RATEEST"));
            batches.entry((r.table.clone(), est)).or_default().push(r);
        }
        let mut bad = Vec::new();
        let mut checked = 0;
        for ((table, est), rows) in &batches {
            let ns = Ns::new("up");
            ns.ok("nfacct add test");
            let mut text = format!("*{table}\n");
            let mut pre_lines = Vec::new();
            if *est {
                let mut seen = Vec::new();
                for r in rows.iter() {
                    for p in &r.prereq {
                        if let Some((_, l)) = prereq_line(p) {
                            if !seen.contains(&l) {
                                seen.push(l);
                            }
                        }
                    }
                }
                // `-I` puts the last one first.
                for l in seen.iter().rev() {
                    text.push_str(l);
                    text.push('\n');
                    pre_lines.push(l.clone());
                }
            }
            for r in rows.iter() {
                text.push_str(&format!("-A {} {}\n", r.chain, r.rule));
            }
            text.push_str("COMMIT\n");
            let o = ns.apply(&text, &[]);
            if !o.status.success() {
                bad.push(format!("{table}: apply failed: {}", text_of(&o)));
                continue;
            }
            let saved = ns.save();
            let mut got: Vec<&str> = saved
                .lines()
                .filter(|l| l.starts_with("-A ") && !pre_lines.iter().any(|p| p == l))
                .collect();
            // Save lists chains in its own order: compare chain by chain.
            for chain in ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] {
                let want: Vec<String> = rows
                    .iter()
                    .filter(|r| r.chain == chain)
                    .map(|r| format!("-A {chain} {}", r.save).trim_end().to_string())
                    .collect();
                let mine: Vec<&str> = got
                    .iter()
                    .copied()
                    .filter(|l| {
                        l.starts_with(&format!("-A {chain} ")) || *l == format!("-A {chain}")
                    })
                    .collect();
                for (w, g) in want.iter().zip(&mine) {
                    if w != g {
                        bad.push(format!("{table}: saved\n  want {w}\n  got  {g}"));
                    }
                }
                if want.len() != mine.len() {
                    bad.push(format!(
                        "{table} {chain}: {} rules saved, {} wanted",
                        mine.len(),
                        want.len()
                    ));
                }
            }
            got.clear();
            let imported = ns.iptplay(&["import", "-t", table], "");
            let theirs = strip(&ns.ok(&format!("iptables-nft-save -t {table}")));
            if strip(&String::from_utf8_lossy(&imported.stdout)) != theirs
                || !imported.status.success()
            {
                bad.push(format!("{table}: import differs: {}", text_of(&imported)));
            }
            for r in rows.iter() {
                let spec = without_counters(&r.rule);
                let d = ns.sh(&format!("iptables-nft -t {table} -D {} {spec}", r.chain));
                if !d.status.success() {
                    bad.push(format!(
                        "{} {table} -D {} {spec}: {}",
                        r.ext,
                        r.chain,
                        String::from_utf8_lossy(&d.stderr).trim()
                    ));
                }
                checked += 1;
            }
        }
        eprintln!("{checked} rows checked");
        assert!(
            bad.is_empty(),
            "{} problems:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }
}
