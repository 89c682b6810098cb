//! The field guide's scripts run verbatim through `iptplay lab` and
//! `iptplay run` (the shell of `command/shell`), and leave the rules and
//! sets the real system leaves: the same scripts run with the real bash,
//! iptables and ipset in a throwaway network namespace (skipped with a
//! message when not root or a tool is missing).

mod common;

use common::real::Namespace;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn labs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/labs")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(labs().join(name)).expect("test file")
}

mod binkit;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn iptplay(args: &[&str], stdin: &str) -> Run {
    let (code, stdout, stderr) = binkit::iptplay(args, stdin);
    Run {
        code,
        stdout,
        stderr,
    }
}

/// `iptplay lab --json LAB` on a script: the command objects.
fn lab_json(lab: &str, script: &str) -> (i32, Vec<serde_json::Value>) {
    let path = labs().join(lab);
    let r = iptplay(&["lab", "--json", path.to_str().unwrap()], script);
    let objs = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|o| o["type"] == "command")
        .collect();
    (r.code, objs)
}

/// iptables-save without comments, counters zeroed.
fn rules(save: &str) -> String {
    save.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            if l.starts_with(':') {
                match l.rfind(" [") {
                    Some(i) => format!("{} [0:0]", &l[..i]),
                    None => l.to_string(),
                }
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// ipset save with the random initval hidden and members in order.
fn sets(save: &str) -> String {
    let mut creates = Vec::new();
    let mut adds = Vec::new();
    for l in save.lines() {
        if l.starts_with("create ") {
            let cut = l.find(" initval ").unwrap_or(l.len());
            creates.push(l[..cut].to_string());
        } else {
            adds.push(l.to_string());
        }
    }
    adds.sort();
    creates.extend(adds);
    creates.join("\n")
}

/// The guide is beside the repository: the test scripts are its text, verbatim.
#[test]
fn scripts_are_the_guides_text() {
    let Some(dir) = common::shared_dir() else {
        return;
    };
    let guide = std::fs::read_to_string(dir.join("seed-iptables-notes.txt")).expect("guide");
    for f in ["country-block.sh", "isp-balance.sh"] {
        assert!(
            guide.contains(read(f).trim_end()),
            "{f} is not the guide's text"
        );
    }
    for l in read("reset-firewall.sh").lines() {
        assert!(guide.contains(&format!("# {l}\n")), "{l}");
    }
}

#[test]
fn country_script_runs_verbatim_on_a_lab() {
    let script = read("country-block.sh");
    let lab = labs().join("country-block.json");
    let r = iptplay(&["lab", lab.to_str().unwrap(), "-"], &script);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "### BLOCKING CHINA ###\nDownload Finished!\nAdding Networks to set...\nBlocking CN with iptables ... Done\n"
    );
    assert!(
        r.stderr
            .contains("HTTP request sent, awaiting response... 200 OK\n"),
        "{}",
        r.stderr
    );
    // The state it leaves, and what it does to a host in one of the networks.
    let after = format!(
        "{script}iptables-save\nipset save\ncat cn-aggregated.zone | wc -l\ncn$ ping -c 1 -W 1 10.0.0.1\n"
    );
    let (code, objs) = lab_json("country-block.json", &after);
    let n = objs.len();
    assert_eq!(code, 1, "the ping from cn gets no answer");
    assert_eq!(
        rules(objs[n - 4]["stdout"].as_str().unwrap()),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m set --match-set china src -j DROP\nCOMMIT"
    );
    assert_eq!(
        sets(objs[n - 3]["stdout"].as_str().unwrap()),
        "create china hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12\nadd china 1.0.1.0/24\nadd china 1.0.2.0/23\nadd china 1.0.32.0/19\nadd china 1.0.8.0/21"
    );
    assert_eq!(objs[n - 2]["stdout"], "4\n");
    assert!(objs[n - 1]["stdout"]
        .as_str()
        .unwrap()
        .contains("1 packets transmitted, 0 received, 100% packet loss"));
    // The `for` loop is one command of the script.
    assert!(objs
        .iter()
        .any(|o| o["command"] == "for i in `cat cn-aggregated.zone`\ndo\nipset -A china $i\ndone"));
}

#[test]
fn country_script_twice_keeps_one_set_and_adds_a_rule() {
    let script = read("country-block.sh");
    let (code, objs) = lab_json(
        "country-block.json",
        &format!("{script}{script}iptables -S INPUT\nipset list china | grep -c /\nls\n"),
    );
    let n = objs.len();
    assert_eq!(code, 0);
    assert_eq!(
        objs[n - 3]["stdout"],
        "-P INPUT ACCEPT\n-A INPUT -m set --match-set china src -j DROP\n-A INPUT -m set --match-set china src -j DROP\n"
    );
    assert_eq!(objs[n - 2]["stdout"], "4\n");
    // The old file was removed before the new download (no `.1` copy).
    assert_eq!(objs[n - 1]["stdout"], "cn-aggregated.zone\n");
}

#[test]
fn country_script_stops_when_the_download_fails() {
    let script = read("country-block.sh");
    let lab = labs().join("seed-router.json");
    let r = iptplay(
        &["lab", lab.to_str().unwrap(), "-"],
        &format!("{script}iptables -S INPUT\n"),
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout, "### BLOCKING CHINA ###\nDownload Failed! Exiting ...\n",
        "nothing runs after exit 1"
    );
    assert!(
        r.stderr
            .contains("wget: unable to resolve host address ‘www.ipdeny.com’"),
        "{}",
        r.stderr
    );
}

#[test]
fn isp_script_runs_verbatim_on_the_router() {
    let script = read("isp-balance.sh");
    let (code, objs) = lab_json(
        "seed-two-isps.json",
        &format!("gw$ {script}iptables -t nat -S\nsysctl net.ipv4.ip_forward\n"),
    );
    let n = objs.len();
    assert_eq!(code, 0, "{objs:?}");
    let mut want = String::from(
        "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n",
    );
    for p in [22, 25, 80, 110, 143, 443, 465, 993, 995] {
        want.push_str(&format!(
            "-A POSTROUTING -o eth1 -p tcp -m tcp --dport {p} -j MASQUERADE\n"
        ));
    }
    want.push_str("-A POSTROUTING -o eth2 -j MASQUERADE\n");
    assert_eq!(objs[n - 2]["stdout"], want);
    assert_eq!(objs[n - 1]["stdout"], "net.ipv4.ip_forward = 1\n");
    // Through `iptplay run` too (one host).
    let r = iptplay(
        &["run"],
        &format!(
            "{script}iptables -t nat -S | grep -c MASQUERADE\ncat /proc/sys/net/ipv4/ip_forward\n"
        ),
    );
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "10\n1\n", "")
    );
}

#[test]
fn shell_errors_read_like_bash() {
    let r = iptplay(&["run"], "echo a\nnosuch -x\necho $?\n");
    assert_eq!(r.stdout, "a\n127\n");
    assert_eq!(r.stderr, "bash: line 2: nosuch: command not found\n");
    let r = iptplay(&["run"], "echo a\nfor i in 1 2\necho $i\ndone\n");
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "", "nothing runs when the script does not parse");
    assert_eq!(
        r.stderr,
        "iptplay: line 3: syntax error near unexpected token `echo'\n"
    );
    let r = iptplay(&["run"], "for i in 1 2; do\necho $i\n");
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "iptplay: line 3: syntax error: unexpected end of file\n")
    );
}

/// Runs a script with the real bash in a namespace; `wget` is a stand-in
/// that copies the zone file (the namespace has no internet).
fn real_run(ns: &Namespace, shim: &std::path::Path, script: &str) -> engine::command::Output {
    ns.write_file("script.sh", false, script);
    ns.run(
        &[
            "env".to_string(),
            format!("PATH={}:/usr/sbin:/usr/bin:/sbin:/bin", shim.display()),
            "bash".to_string(),
            "script.sh".to_string(),
        ],
        None,
        None,
    )
}

fn real_tools() -> Result<(), String> {
    common::can_use_kernel()?;
    for t in ["ipset", "iptables-save", "bash"] {
        let ok = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Err(format!("{t} missing"));
        }
    }
    Ok(())
}

#[test]
fn country_and_reset_scripts_match_the_kernel() {
    if let Err(why) = real_tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let zone = "1.0.1.0/24\n1.0.2.0/23\n1.0.8.0/21\n1.0.32.0/19\n";
    let shim = std::env::temp_dir().join(format!("shell-shim-{}", std::process::id()));
    std::fs::create_dir_all(&shim).expect("shim dir");
    std::fs::write(shim.join("cn-aggregated.zone"), zone).expect("zone");
    std::fs::write(
        shim.join("wget"),
        format!(
            "#!/bin/sh\ncp {}/cn-aggregated.zone \"$(basename \"$1\")\"\n",
            shim.display()
        ),
    )
    .expect("wget shim");
    let _ = Command::new("chmod")
        .arg("+x")
        .arg(shim.join("wget"))
        .status();
    let ns = Namespace::new("shell-country");
    let script = read("country-block.sh");
    let save = "iptables-save\nipset save\n";
    let real1 = real_run(&ns, &shim, &script);
    let real_state = real_run(&ns, &shim, save);
    let real2 = real_run(&ns, &shim, &script);
    let real_state2 = real_run(&ns, &shim, save);
    let real_reset = real_run(&ns, &shim, &read("reset-firewall.sh"));
    let real_state3 = real_run(&ns, &shim, save);
    drop(ns);
    let _ = std::fs::remove_dir_all(&shim);

    let (_, objs) = lab_json(
        "country-block.json",
        &format!(
            "{script}iptables-save\nipset save\n{script}iptables-save\nipset save\n{}iptables-save\nipset save\n",
            read("reset-firewall.sh")
        ),
    );
    let out_of = |from: usize, to: usize| -> String {
        objs[from..to]
            .iter()
            .map(|o| o["stdout"].as_str().unwrap_or(""))
            .collect()
    };
    let items = engine::command::shell::Script::parse(&script)
        .unwrap()
        .items
        .len();
    let resets = read("reset-firewall.sh").lines().count();
    assert_eq!(objs.len(), 2 * items + resets + 6);
    assert_eq!(out_of(0, items), real1.stdout, "first run's output");
    assert_eq!(real1.exit, 0, "{}", real1.stderr);
    let s1 = &objs[items..items + 2];
    let state = |a: &serde_json::Value, b: &serde_json::Value| {
        (
            rules(a["stdout"].as_str().unwrap()),
            sets(b["stdout"].as_str().unwrap()),
        )
    };
    let split_real = |o: &engine::command::Output| {
        let (ipt, set) = o
            .stdout
            .split_at(o.stdout.find("create ").unwrap_or(o.stdout.len()));
        (rules(ipt), sets(set))
    };
    assert!(
        real_state.stdout.contains("add china 1.0.32.0/19")
            && real_state
                .stdout
                .contains("-A INPUT -m set --match-set china src -j DROP"),
        "the real run did its work: {real_state:?}"
    );
    assert_eq!(state(&s1[0], &s1[1]), split_real(&real_state));
    let b = items + 2;
    assert_eq!(out_of(b, b + items), real2.stdout, "second run's output");
    let s2 = &objs[b + items..b + items + 2];
    assert_eq!(state(&s2[0], &s2[1]), split_real(&real_state2));
    let c = b + items + 2;
    assert_eq!(out_of(c, c + resets), real_reset.stdout);
    assert_eq!(objs[c + resets - 1]["exit"], real_reset.exit);
    let s3 = &objs[c + resets..c + resets + 2];
    assert_eq!(state(&s3[0], &s3[1]), split_real(&real_state3));
}

#[test]
fn isp_script_matches_the_kernel() {
    if let Err(why) = real_tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let ns = Namespace::new("shell-isp");
    let shim = std::env::temp_dir();
    let script = read("isp-balance.sh");
    let real = real_run(&ns, &shim, &script);
    let real_state = real_run(
        &ns,
        &shim,
        "iptables-save\ncat /proc/sys/net/ipv4/ip_forward\n",
    );
    drop(ns);
    let r = iptplay(
        &["run"],
        &format!("{script}iptables-save\ncat /proc/sys/net/ipv4/ip_forward\n"),
    );
    assert_eq!(
        (r.code, real.exit),
        (0, 0),
        "{} / {}",
        r.stderr,
        real.stderr
    );
    assert_eq!(r.stderr, real.stderr);
    assert!(
        real_state.stdout.contains("--dport 995 -j MASQUERADE")
            && real_state.stdout.ends_with("\n1\n"),
        "{real_state:?}"
    );
    assert_eq!(rules(&r.stdout), rules(&real_state.stdout));
}

/// Snippets run by the real bash and by `iptplay run` print the same
/// (bash names the script file where we say `bash`).
#[test]
fn shell_agrees_with_bash() {
    if Command::new("bash").arg("-c").arg("true").status().is_err() {
        eprintln!("skipped: no bash");
        return;
    }
    let cases = [
        "A=\"a  b\"; echo $A \"$A\"; echo ${A}x\n",
        "for i in 1 2 3; do echo -n \"$i \"; done; echo\n",
        "X=$(echo hi; echo there); echo \"$X\"; echo $X\n",
        "if [ -f nofile ]; then echo yes; elif [ -z \"\" ]; then echo empty; else echo no; fi\n",
        "false; echo $?; ! false; echo $?; true && echo t || echo f; false && echo t || echo f\n",
        "echo one > f; echo two >> f; cat f | grep -c o; grep -v one f; wc -l < f; cat f | wc -l\n",
        "echo 1 > f; for n in `cat f`; do echo \"[$n]\"; done; rm f; rm f; echo $?; rm -f f; echo $?\n",
        "[ 1 -eq 1 ] && [ 2 -ne 1 ] && [ 1 -lt 2 ] && [ 2 -le 2 ] && [ 3 -gt 2 ] && echo nums\n",
        "[ a = a ]; echo $?; [ a != a ]; echo $?; test -n \"x\"; echo $?; [ ! -e nope ]; echo $?\n",
        "echo a | grep b; echo $?; grep; echo $?\n",
        "exit 3\necho after\n",
        "for x in; do echo never; done; echo ok\n",
        "echo \"a;b\" 'c|d' \\$HOME x\\ y\n",
        "{ echo g1; echo g2; } > g; cat g; head -n 1 g; tail -n 1 g; rm g\n",
        "echo err 1>&2; echo out 2>&1\n",
        "[ 1 -eq x ]; echo $?\n[ -f x\n[ a b c ]\n",
        "echo $(echo a; exit 3) $?\n",
        "echo a\nnosuch\necho $?\n",
        "cat nope; echo $?; cat < nope; echo $?\n",
        "for i in a b; do for j in 1 2; do echo $i$j; done; done\n",
        "if true; then if false; then echo in; else echo inelse; fi; fi\n",
        "echo \"$(echo \"nested $(echo deep)\")\"\n",
        "exit 300\n",
        "exit abc\necho no\n",
        "exit 1 2\necho yes\n",
        "printf '%s-%d\\n' a 1 b 2\n",
        "N=7\ncat <<EOF\nn=$N \\$N\nEOF\ncat <<'EOF'\nn=$N\nEOF\n",
        "L=\"22 80\n443\"\nfor p in $L\ndo\n  echo port $p\ndone\n",
        "if [ -f \"x\" ]\nthen\nrm x\nfi\necho > x\nif [ -f \"x\" ]\nthen\nrm x\nelse\necho no\nfi\nls x\necho $?\n",
        "echo a\nfi\necho b\n",
        "echo a\nfor i in 1\necho $i\ndone\n",
    ];
    let dir = std::env::temp_dir().join(format!("shell-vs-bash-{}", std::process::id()));
    let mut failures = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("s.sh"), case).expect("script");
        let o = Command::new("bash")
            .arg("s.sh")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("bash runs");
        let real = (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).replace("s.sh: line", "bash: line"),
        );
        let r = iptplay(&["run"], case);
        let mut ours = (r.code, r.stdout, r.stderr);
        // A script that does not parse: bash runs the lines before the
        // error, iptplay runs nothing; the message is the same.
        if ours.0 == 2 && ours.2.starts_with("iptplay: line ") {
            ours.2 = ours.2.replacen("iptplay: line ", "bash: line ", 1);
            let cut = real.2.find("bash: line ").unwrap_or(0);
            let msg_line = real.2[cut..].lines().next().unwrap_or("").to_string();
            if (ours.0, ours.2.trim_end()) != (real.0, msg_line.as_str()) {
                failures.push(format!(
                    "case {k}: {case:?}\n  real: {real:?}\n  ours: {ours:?}"
                ));
            }
            continue;
        }
        if ours != real {
            failures.push(format!(
                "case {k}: {case:?}\n  real: {real:?}\n  ours: {ours:?}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `iptplay kernel run` is the same shell: the load-balancing script's
/// loop and its `/proc/sys` write reach the namespace named by `--netns`
/// (and only it); the country script stops at its download, as wget is
/// not a kernel command.
#[test]
fn kernel_run_takes_the_guides_scripts() {
    if let Err(why) = real_tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let host_forward =
        || std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    let before = host_forward();
    let ns = Namespace::new("shell-krun");
    let dir = std::env::temp_dir().join(format!("shell-krun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let isp = dir.join("isp.sh");
    std::fs::write(&isp, read("isp-balance.sh")).expect("script");
    let r = iptplay(
        &[
            "kernel",
            "run",
            isp.to_str().unwrap(),
            "--netns",
            "shell-krun",
        ],
        "",
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let nat = ns.run(
        &["iptables-save".into(), "-t".into(), "nat".into()],
        None,
        None,
    );
    let sim = iptplay(
        &["run"],
        &format!("{}iptables-save -t nat\n", read("isp-balance.sh")),
    );
    assert_eq!(rules(&nat.stdout), rules(&sim.stdout));
    assert!(
        nat.stdout.contains("--dport 995 -j MASQUERADE"),
        "{}",
        nat.stdout
    );
    let fwd = ns.run(
        &["cat".into(), "/proc/sys/net/ipv4/ip_forward".into()],
        None,
        None,
    );
    assert_eq!(fwd.stdout, "1\n");
    assert_eq!(host_forward(), before, "the host's own sysctl is untouched");

    let country = dir.join("country.sh");
    std::fs::write(&country, read("country-block.sh")).expect("script");
    let r = iptplay(
        &[
            "kernel",
            "run",
            country.to_str().unwrap(),
            "--netns",
            "shell-krun",
        ],
        "",
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "### BLOCKING CHINA ###\nDownload Failed! Exiting ...\n"
    );
    assert_eq!(
        r.stderr,
        "iptplay: wget: only iptables and ipset commands run against the kernel\n"
    );
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
