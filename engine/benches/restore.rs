//! Parse and commit of a kube-proxy-shaped ruleset with 10,000 services
//! (`shared/tools/gen-kube-ruleset.py 10000`, about 110k lines) through
//! `iptables-restore` on a fresh simulated host.

use criterion::{criterion_group, criterion_main, Criterion};
use engine::command::run_argv;
use engine::sim::host::Host;
use std::path::PathBuf;
use std::process::Command;

fn ruleset() -> Option<String> {
    let tool =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/gen-kube-ruleset.py");
    let out = Command::new("python3")
        .arg(tool)
        .arg("10000")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn restore(c: &mut Criterion) {
    let Some(text) = ruleset() else {
        eprintln!("skipped: shared/tools/gen-kube-ruleset.py or python3 missing");
        return;
    };
    let argv = vec!["iptables-restore".to_string()];
    // The ruleset must load: a benchmark of an error path proves nothing.
    let mut h = Host::new("bench");
    let out = run_argv(&mut h, &argv, Some(&text));
    assert_eq!(out.exit, 0, "restore failed: {}", out.stderr);
    let mut g = c.benchmark_group("kube-10000");
    g.sample_size(10);
    g.bench_function("iptables-restore", |b| {
        b.iter(|| {
            let mut h = Host::new("bench");
            let out = run_argv(&mut h, &argv, Some(&text));
            assert_eq!(out.exit, 0);
            h
        })
    });
    g.finish();
}

criterion_group!(benches, restore);
criterion_main!(benches);
