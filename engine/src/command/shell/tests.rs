//! The shell on an in-memory machine: each construct, bash's error texts and the limits.

use super::*;
use std::collections::BTreeMap;

/// Files in a map; `prog` prints its arguments and stdin, `fail N` exits N.
#[derive(Default)]
struct Mem {
    files: BTreeMap<String, String>,
    ran: Vec<Vec<String>>,
}

impl System for Mem {
    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> Option<Output> {
        self.ran.push(argv.to_vec());
        match argv[0].as_str() {
            "prog" => Some(Output::ok(format!(
                "{}|{}\n",
                argv[1..].join(","),
                stdin.unwrap_or("")
            ))),
            "fail" => Some(Output::err(
                "failing\n",
                argv.get(1).and_then(|s| s.parse().ok()).unwrap_or(1),
            )),
            _ => None,
        }
    }
    fn read(&mut self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "No such file or directory".into())
    }
    fn write(&mut self, path: &str, text: &str, append: bool) -> Result<(), String> {
        let e = self.files.entry(path.to_string()).or_default();
        if !append {
            e.clear();
        }
        e.push_str(text);
        Ok(())
    }
    fn kind(&mut self, path: &str) -> Option<FileKind> {
        if path == "/tmp" {
            return Some(FileKind::Dir);
        }
        self.files.contains_key(path).then_some(FileKind::File)
    }
    fn remove(&mut self, path: &str) -> Result<(), String> {
        self.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| "No such file or directory".into())
    }
}

/// Runs a script; (stdout, stderr, status).
fn sh_with(mem: &mut Mem, vars: &mut Vars, text: &str) -> (String, String, i32) {
    let script = match Script::parse(text) {
        Ok(s) => s,
        Err(e) => return (String::new(), format!("line {}: {}", e.line, e.msg), -1),
    };
    let mut out = Output::default();
    for item in &script.items {
        let r = run_item(mem, vars, item, Mode::Script);
        let o = r.output();
        out.stdout.push_str(&o.stdout);
        out.stderr.push_str(&o.stderr);
        out.exit = o.exit;
        if r.stop {
            break;
        }
    }
    (out.stdout, out.stderr, out.exit)
}

fn sh(text: &str) -> (String, String, i32) {
    sh_with(&mut Mem::default(), &mut Vars::new(), text)
}

#[test]
fn variables_and_field_splitting() {
    let (o, _, s) = sh("A=\"x  y\"\nprog $A \"$A\" ${A}z '$A'\n");
    assert_eq!(o, "x,y,x  y,x,yz,$A|\n");
    assert_eq!(s, 0);
    let (o, _, _) = sh("E=\nprog $E \"$E\" a\nexport B=1 C\necho $B-$C.\n");
    assert_eq!(o, ",a|\n1-.\n");
}

#[test]
fn for_loops_every_form() {
    let (o, _, _) = sh(
        "for i in a b; do echo -n $i; done; echo\nL=\"1 2\n3\"\nfor x in $L\ndo\necho $x\ndone\n",
    );
    assert_eq!(o, "ab\n1\n2\n3\n");
    let mut m = Mem::default();
    m.files
        .insert("nets".into(), "10.0.0.0/8\n192.168.0.0/16\n".into());
    let (o, _, _) = sh_with(
        &mut m,
        &mut Vars::new(),
        "for n in `cat nets`\ndo\nprog $n\ndone\nfor n in $(cat nets); do echo \"[$n]\"; done\nfor q in \"$(cat nets)\"; do echo \"$q\"; done\n",
    );
    assert_eq!(
        o,
        "10.0.0.0/8|\n192.168.0.0/16|\n[10.0.0.0/8]\n[192.168.0.0/16]\n10.0.0.0/8\n192.168.0.0/16\n"
    );
}

#[test]
fn if_elif_else_and_test() {
    let mut m = Mem::default();
    m.files.insert("f".into(), "x".into());
    let script = "if [ -f \"f\" ]\nthen\necho yes\nfi\nif [ -f g ]; then echo g; elif [ -d /tmp ]; then echo dir; else echo no; fi\nif [ $? -eq 0 ]; then echo zero; fi\nif ! [ -z \"a\" ] && test a != b; then echo ok; fi\n[ 3 -lt 2 ] || echo lt\n[ -n \"\" ]; echo $?\n[ -e nope ]; echo $?\n";
    let (o, e, _) = sh_with(&mut m, &mut Vars::new(), script);
    assert_eq!(o, "yes\ndir\nzero\nok\nlt\n1\n1\n", "{e}");
}

#[test]
fn status_exit_and_negation() {
    let (o, _, s) = sh(
        "fail 3\necho $?\n! fail\necho $?\nfail || echo or\ntrue && echo and\nexit 4\necho never\n",
    );
    assert_eq!(o, "3\n0\nor\nand\n");
    assert_eq!(s, 4);
    let (_, e, s) = sh("exit abc\necho never\n");
    assert_eq!(e, "bash: line 1: exit: abc: numeric argument required\n");
    assert_eq!(s, 2);
    let (o, e, s) = sh("exit 1 2\necho still\n");
    assert_eq!(
        (o.as_str(), e.as_str(), s),
        ("still\n", "bash: line 1: exit: too many arguments\n", 0)
    );
    let (_, _, s) = sh("fail 5\nexit\n");
    assert_eq!(s, 5);
}

#[test]
fn bash_error_texts() {
    let (_, e, s) = sh("echo a\nfoo bar\n");
    assert_eq!(
        (e.as_str(), s),
        ("bash: line 2: foo: command not found\n", 127)
    );
    let (_, e, s) = sh("[ 1 -eq abc ]\n");
    assert_eq!(
        (e.as_str(), s),
        ("bash: line 1: [: abc: integer expression expected\n", 2)
    );
    let (_, e, _) = sh("[ -f x\n");
    assert_eq!(e, "bash: line 1: [: missing `]'\n");
    let (_, e, _) = sh("[ a b c ]\n");
    assert_eq!(e, "bash: line 1: [: b: binary operator expected\n");
    let (_, e, _) = sh("rm nope\ncat nope\n");
    assert_eq!(e, "rm: cannot remove 'nope': No such file or directory\ncat: nope: No such file or directory\n");
    let (_, e, s) = sh("rm -f nope\n");
    assert_eq!((e.as_str(), s), ("", 0));
    let (_, e, _) = sh("echo ok\nfi\n");
    assert_eq!(e, "line 2: syntax error near unexpected token `fi'");
}

#[test]
fn pipes_redirections_and_heredocs() {
    let mut m = Mem::default();
    let mut v = Vars::new();
    let (o, e, _) = sh_with(
        &mut m,
        &mut v,
        "echo one > f\necho two >> f\ncat f | prog x\ncat < f | grep -c o\nprog a b 2>&1 > g | prog p\nfail 2> err; cat err\nN=7\ncat <<EOF\nn=$N \\$N\nEOF\ncat <<'EOF'\nn=$N\nEOF\niptables-save 2>/dev/null\necho gone >/dev/null\n",
    );
    assert_eq!(m.files["f"], "one\ntwo\n");
    assert_eq!(m.files["g"], "a,b|\n");
    assert_eq!(o, "x|one\ntwo\n\n2\np|\nfailing\nn=7 $N\nn=$N\n", "{e}");
    assert_eq!(e, "");
    let (o, _, _) = sh_with(&mut m, &mut v, "for i in 1 2; do echo $i; done > loop\ncat loop | wc -l\ngrep -v one f\nhead -n 1 f; tail -1 f\n");
    assert_eq!(o, "2\ntwo\none\ntwo\n");
}

#[test]
fn command_substitution_is_a_subshell() {
    let (o, _, _) = sh(
        "X=1\nY=$(X=2; echo $X; echo)\necho \"$X $Y\"\nZ=$(fail 3)\necho $?\necho $(exit 4) $?\n",
    );
    assert_eq!(o, "1 2\n3\n4\n");
}

#[test]
fn variables_live_between_runs() {
    let mut m = Mem::default();
    let mut v = Vars::new();
    sh_with(&mut m, &mut v, "ISP1=\"22 80\"\n");
    let (o, _, _) = sh_with(&mut m, &mut v, "for p in $ISP1; do prog $p; done\n");
    assert_eq!(o, "22|\n80|\n");
}

#[test]
fn loops_and_expansions_are_capped() {
    let mut script = String::from("A=\"x x x x x x x x x x\"\n");
    // 10^6 iterations of nested loops.
    script.push_str("for a in $A $A $A $A $A $A $A $A $A $A; do for b in $A $A $A $A $A $A $A $A $A $A; do for c in $A $A $A $A $A $A $A $A $A $A; do :; done; done; done\necho after\n");
    let (o, e, s) = sh(&script);
    assert!(e.contains("loops ran more than 100000 times"), "{e}");
    assert_eq!((o.as_str(), s), ("", 1));
}

#[test]
fn incomplete_input_is_marked() {
    for s in [
        "for i in a\ndo\n",
        "if true; then",
        "echo 'x",
        "cat <<EOF\n",
        "a &&",
    ] {
        assert!(Script::parse(s).unwrap_err().incomplete, "{s}");
    }
    assert!(!Script::parse("done").unwrap_err().incomplete);
    let s =
        Script::parse("iptables -A X -m comment --comment 'a b' # c\nls \\\n  -l; echo x").unwrap();
    let texts: Vec<&str> = s.items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "iptables -A X -m comment --comment 'a b'",
            "ls   -l",
            "echo x"
        ]
    );
    assert_eq!(s.items[2].line, 3);
}
