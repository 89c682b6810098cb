//! Parse and commit of a kube-proxy-shaped ruleset with 10,000 services
//! (`shared/tools/gen-kube-ruleset.py 10000`, about 110k lines) through
//! `iptables-restore` on a fresh simulated host, and the same file through
//! the real `iptables-nft-restore --test` as the baseline (when installed;
//! it only parses, as ours does plus the commit).
//!
//! `KUBE_SERVICES=N` changes the number of services. Times are CPU time
//! (ours: the benchmark thread's; the real tool's: user and system time of
//! the process), as the machine is shared.

/// The allocator `iptplay` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use engine::command::run_argv;
use engine::sim::host::Host;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// CPU time of this thread: the machine is shared, and wall time would count
/// the time other processes had the core.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time (user and system) of the children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage for the call to fill.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn services() -> usize {
    std::env::var("KUBE_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn ruleset(n: usize) -> Option<String> {
    let tool =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/gen-kube-ruleset.py");
    let out = Command::new("python3")
        .arg(tool)
        .arg(n.to_string())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn restore(c: &mut Criterion) {
    let n = services();
    let Some(text) = ruleset(n) else {
        eprintln!("skipped: shared/tools/gen-kube-ruleset.py or python3 missing");
        return;
    };
    let argv = vec!["iptables-restore".to_string()];
    // The ruleset must load: a benchmark of an error path proves nothing.
    let mut h = Host::new("bench");
    let out = run_argv(&mut h, &argv, Some(&text));
    assert_eq!(out.exit, 0, "restore failed: {}", out.stderr);
    let rules: usize = h
        .ruleset
        .tables
        .iter()
        .flat_map(|t| t.chains.iter())
        .map(|c| c.rules.len())
        .sum();
    eprintln!("kube-{n}: {} lines, {rules} rules", text.lines().count());
    drop(h);
    let mut g = c.benchmark_group(format!("kube-{n}"));
    g.sample_size(10);
    // Timed: parse and commit. The host is freed outside the timing (the
    // real tool exits without freeing its cache piece by piece).
    let timed = |argv: &[String], iters: u64| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let mut h = Host::new("bench");
            let t = thread_cpu();
            let out = run_argv(&mut h, argv, Some(&text));
            total += thread_cpu() - t;
            assert_eq!(out.exit, 0);
            drop(h);
        }
        total
    };
    g.bench_function("iptables-restore", |b| {
        b.iter_custom(|iters| timed(&argv, iters))
    });
    // Ours parsing only, like the real tool's `--test` below.
    let test_argv = vec!["iptables-restore".to_string(), "--test".to_string()];
    g.bench_function("iptables-restore --test", |b| {
        b.iter_custom(|iters| timed(&test_argv, iters))
    });
    // The baseline, in the same run: the real tool on the same file.
    let file = std::env::temp_dir().join(format!("kube-{n}-{}.v4", std::process::id()));
    let real = std::fs::write(&file, &text).is_ok()
        && Command::new("iptables-nft-restore")
            .arg("--test")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if real {
        g.bench_function("iptables-nft-restore --test (real)", |b| {
            b.iter_custom(|iters| {
                let start = children_cpu();
                for _ in 0..iters {
                    let s = Command::new("iptables-nft-restore")
                        .arg("--test")
                        .arg(&file)
                        .status()
                        .expect("ran before");
                    assert!(s.success());
                }
                children_cpu() - start
            })
        });
    } else {
        eprintln!("baseline skipped: iptables-nft-restore --test does not run here");
    }
    let _ = std::fs::remove_file(&file);
    g.finish();
}

criterion_group!(benches, restore);
criterion_main!(benches);
