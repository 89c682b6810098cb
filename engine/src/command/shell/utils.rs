//! The small programs scripts lean on, over the host's files: `test`/`[`,
//! `cat`, `rm`, `ls`, `grep` (fixed strings, `^`/`$` anchors, `-E` alternatives
//! with `|`; no other regular expressions), `wc`, `head` and `tail`.

use super::{FileKind, System};
use crate::command::Output;

/// `test EXPR` / `[ EXPR ]`: `Err` is bash's message after `test: `.
pub fn test(sys: &mut dyn System, args: &[String]) -> Result<bool, String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [] => Ok(false),
        [x] => Ok(!x.is_empty()),
        ["!", rest @ ..] if rest.len() <= 3 => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            test(sys, &rest).map(|b| !b)
        }
        [op, x] => unary(sys, op, x),
        ["(", x, ")"] => Ok(!x.is_empty()),
        [x, op, y] => binary(x, op, y),
        _ => Err("too many arguments".into()),
    }
}

fn unary(sys: &mut dyn System, op: &str, x: &str) -> Result<bool, String> {
    Ok(match op {
        "-n" => !x.is_empty(),
        "-z" => x.is_empty(),
        "-e" | "-a" => sys.kind(x).is_some(),
        "-f" => sys.kind(x) == Some(FileKind::File),
        "-d" => sys.kind(x) == Some(FileKind::Dir),
        "-s" => sys.kind(x) == Some(FileKind::File) && sys.read(x).is_ok_and(|t| !t.is_empty()),
        "-r" | "-w" => sys.kind(x).is_some(),
        "-x" => sys.kind(x) == Some(FileKind::Dir),
        "-L" | "-h" | "-p" | "-S" | "-b" | "-c" => false,
        _ => return Err(format!("{op}: unary operator expected")),
    })
}

fn integer(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{s}: integer expression expected"))
}

fn binary(x: &str, op: &str, y: &str) -> Result<bool, String> {
    Ok(match op {
        "=" | "==" => x == y,
        "!=" => x != y,
        "<" => x < y,
        ">" => x > y,
        "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" => {
            let (a, b) = (integer(x)?, integer(y)?);
            match op {
                "-eq" => a == b,
                "-ne" => a != b,
                "-lt" => a < b,
                "-le" => a <= b,
                "-gt" => a > b,
                _ => a >= b,
            }
        }
        "-a" => !x.is_empty() && !y.is_empty(),
        "-o" => !x.is_empty() || !y.is_empty(),
        _ => return Err(format!("{op}: binary operator expected")),
    })
}

/// Runs one of the file programs.
pub fn run(sys: &mut dyn System, argv: &[String], stdin: Option<&str>) -> Output {
    match argv[0].as_str() {
        "cat" => cat(sys, argv, stdin),
        "rm" => rm(sys, argv),
        "ls" => ls(sys, argv),
        "grep" | "egrep" | "fgrep" => grep(sys, argv, stdin),
        "wc" => wc(sys, argv, stdin),
        _ => head_tail(sys, argv, stdin),
    }
}

/// Reads an operand (`-` is standard input) for `prog`, or says why not.
fn input(sys: &mut dyn System, prog: &str, f: &str, stdin: Option<&str>) -> Result<String, String> {
    if f == "-" {
        return Ok(stdin.unwrap_or("").to_string());
    }
    if sys.kind(f) == Some(FileKind::Dir) {
        return Err(format!("{prog}: {f}: Is a directory\n"));
    }
    sys.read(f).map_err(|e| format!("{prog}: {f}: {e}\n"))
}

fn bad_option(prog: &str, o: &str) -> Output {
    let o = o.trim_start_matches('-');
    Output::err(
        format!("{prog}: invalid option -- '{o}'\nTry '{prog} --help' for more information.\n"),
        if prog == "grep" { 2 } else { 1 },
    )
}

fn cat(sys: &mut dyn System, argv: &[String], stdin: Option<&str>) -> Output {
    let mut out = Output::default();
    let files: Vec<&String> = argv[1..].iter().collect();
    if let Some(o) = files.iter().find(|f| f.starts_with('-') && f.len() > 1) {
        return bad_option("cat", o);
    }
    if files.is_empty() {
        out.stdout.push_str(stdin.unwrap_or(""));
    }
    for f in files {
        match input(sys, "cat", f, stdin) {
            Ok(t) => out.stdout.push_str(&t),
            Err(e) => {
                out.stderr.push_str(&e);
                out.exit = 1;
            }
        }
    }
    out
}

fn rm(sys: &mut dyn System, argv: &[String]) -> Output {
    let mut force = false;
    let mut recursive = false;
    let mut files = Vec::new();
    let mut opts = true;
    for a in &argv[1..] {
        if opts && a == "--" {
            opts = false;
        } else if opts && a.starts_with('-') && a.len() > 1 {
            for c in a[1..].chars() {
                match c {
                    'f' => force = true,
                    'r' | 'R' => recursive = true,
                    'v' | 'i' => {}
                    _ => return bad_option("rm", &c.to_string()),
                }
            }
        } else {
            files.push(a.clone());
        }
    }
    if files.is_empty() {
        if force {
            return Output::default();
        }
        return Output::err(
            "rm: missing operand\nTry 'rm --help' for more information.\n",
            1,
        );
    }
    let mut out = Output::default();
    for f in files {
        match sys.kind(&f) {
            None if force => {}
            Some(FileKind::Dir) if !recursive => {
                out.stderr
                    .push_str(&format!("rm: cannot remove '{f}': Is a directory\n"));
                out.exit = 1;
            }
            _ => {
                if let Err(e) = sys.remove(&f) {
                    out.stderr
                        .push_str(&format!("rm: cannot remove '{f}': {e}\n"));
                    out.exit = 1;
                }
            }
        }
    }
    out
}

/// `printf FORMAT [ARGS...]`: `%s`, `%d`, `%%`, `\n`, `\t`, `\\`; the format
/// repeats while arguments are left, as bash's does.
pub fn printf(argv: &[String]) -> Output {
    let Some(fmt) = argv.get(1) else {
        return Output::err("printf: usage: printf [-v var] format [arguments]\n", 2);
    };
    let args = &argv[2..];
    let mut out = Output::default();
    let mut next = 0;
    loop {
        let mut used = false;
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => out.stdout.push('\n'),
                    Some('t') => out.stdout.push('\t'),
                    Some('\\') => out.stdout.push('\\'),
                    Some(o) => {
                        out.stdout.push('\\');
                        out.stdout.push(o);
                    }
                    None => out.stdout.push('\\'),
                },
                '%' => {
                    let conv = chars.next();
                    if conv == Some('%') {
                        out.stdout.push('%');
                        continue;
                    }
                    let arg = args.get(next).cloned().unwrap_or_default();
                    if next < args.len() {
                        next += 1;
                        used = true;
                    }
                    match conv {
                        Some('d' | 'i') => {
                            if arg.is_empty() {
                                out.stdout.push('0');
                            } else {
                                match arg.trim().parse::<i64>() {
                                    Ok(n) => out.stdout.push_str(&n.to_string()),
                                    Err(_) => {
                                        out.stdout.push('0');
                                        out.stderr
                                            .push_str(&format!("printf: {arg}: invalid number\n"));
                                        out.exit = 1;
                                    }
                                }
                            }
                        }
                        Some(_) => out.stdout.push_str(&arg),
                        None => out.stdout.push('%'),
                    }
                }
                _ => out.stdout.push(c),
            }
        }
        if !used || next >= args.len() || out.stdout.len() > super::MAX_TEXT {
            break;
        }
    }
    out
}

/// `ls [-1] [-a] [PATH...]`: names, one a line.
fn ls(sys: &mut dyn System, argv: &[String]) -> Output {
    let mut paths = Vec::new();
    for a in &argv[1..] {
        if a.starts_with('-') && a.len() > 1 {
            if let Some(c) = a[1..].chars().find(|c| !matches!(c, '1' | 'a' | 'A')) {
                return Output::err(
                    format!("ls: option -{c} is not supported here (try ls or ls -1)\n"),
                    2,
                );
            }
        } else {
            paths.push(a.clone());
        }
    }
    if paths.is_empty() {
        paths.push(".".into());
    }
    let many = paths.len() > 1;
    let mut out = Output::default();
    for (k, p) in paths.iter().enumerate() {
        match sys.kind(p) {
            Some(FileKind::File) => out.stdout.push_str(&format!("{p}\n")),
            Some(FileKind::Dir) => {
                if many {
                    if k > 0 {
                        out.stdout.push('\n');
                    }
                    out.stdout.push_str(&format!("{p}:\n"));
                }
                for n in sys.list(p).unwrap_or_default() {
                    out.stdout.push_str(&format!("{n}\n"));
                }
            }
            None => {
                out.stderr.push_str(&format!(
                    "ls: cannot access '{p}': No such file or directory\n"
                ));
                out.exit = 2;
            }
        }
    }
    out
}

/// A `grep` pattern: alternatives of fixed strings with optional anchors.
struct Pattern {
    alts: Vec<(bool, String, bool)>,
    icase: bool,
}

impl Pattern {
    fn new(pats: &[String], extended: bool, fixed: bool, icase: bool) -> Pattern {
        let mut alts = Vec::new();
        for p in pats {
            for line in p.split('\n') {
                let pieces: Vec<&str> = if extended {
                    line.split('|').collect()
                } else {
                    line.split("\\|").collect()
                };
                for a in pieces {
                    let mut s = a.to_string();
                    let (mut start, mut end) = (false, false);
                    if !fixed {
                        if let Some(r) = s.strip_prefix('^') {
                            start = true;
                            s = r.to_string();
                        }
                        if s.ends_with('$') && !s.ends_with("\\$") {
                            end = true;
                            s.pop();
                        }
                        s = s.replace("\\.", ".").replace("\\$", "$");
                    }
                    // ASCII case folding, as grep -i in the C locale (and no
                    // Unicode case tables in the web page).
                    if icase {
                        s = s.to_ascii_lowercase();
                    }
                    alts.push((start, s, end));
                }
            }
        }
        Pattern { alts, icase }
    }

    fn matches(&self, line: &str) -> bool {
        let l = if self.icase {
            line.to_ascii_lowercase()
        } else {
            line.to_string()
        };
        self.alts.iter().any(|(start, s, end)| match (start, end) {
            (true, true) => l == *s,
            (true, false) => l.starts_with(s.as_str()),
            (false, true) => l.ends_with(s.as_str()),
            _ => l.contains(s.as_str()),
        })
    }
}

fn grep(sys: &mut dyn System, argv: &[String], stdin: Option<&str>) -> Output {
    let usage =
        "Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n";
    let (mut invert, mut count, mut icase, mut quiet, mut number) =
        (false, false, false, false, false);
    let mut extended = argv[0] == "egrep";
    let mut fixed = argv[0] == "fgrep";
    let mut pats: Vec<String> = Vec::new();
    let mut operands = Vec::new();
    let mut i = 1;
    let mut opts = true;
    while i < argv.len() {
        let a = &argv[i];
        if opts && a == "--" {
            opts = false;
        } else if opts && a == "-e" {
            i += 1;
            match argv.get(i) {
                Some(p) => pats.push(p.clone()),
                None => {
                    return Output::err(
                        format!("grep: option requires an argument -- 'e'\n{usage}"),
                        2,
                    )
                }
            }
        } else if opts && a.starts_with('-') && a.len() > 1 && !a.starts_with("--") {
            for c in a[1..].chars() {
                match c {
                    'v' => invert = true,
                    'c' => count = true,
                    'i' => icase = true,
                    'q' => quiet = true,
                    'n' => number = true,
                    'E' => extended = true,
                    'F' => fixed = true,
                    'G' | 's' | 'h' => {}
                    _ => return Output::err(format!("grep: invalid option -- '{c}'\n{usage}"), 2),
                }
            }
        } else {
            operands.push(a.clone());
        }
        i += 1;
    }
    if pats.is_empty() {
        if operands.is_empty() {
            return Output::err(usage, 2);
        }
        pats.push(operands.remove(0));
    }
    let pat = Pattern::new(&pats, extended, fixed, icase);
    let mut out = Output::default();
    let many = operands.len() > 1;
    let names: Vec<String> = if operands.is_empty() {
        vec!["-".to_string()]
    } else {
        operands
    };
    let mut any = false;
    let mut trouble = false;
    for f in &names {
        let text = match input(sys, "grep", f, stdin) {
            Ok(t) => t,
            Err(e) => {
                out.stderr.push_str(&e);
                trouble = true;
                continue;
            }
        };
        let shown = if f == "-" { "(standard input)" } else { f };
        let mut n = 0;
        for (k, line) in text.lines().enumerate() {
            if pat.matches(line) != invert {
                n += 1;
                any = true;
                if quiet || count {
                    continue;
                }
                if many {
                    out.stdout.push_str(&format!("{shown}:"));
                }
                if number {
                    out.stdout.push_str(&format!("{}:", k + 1));
                }
                out.stdout.push_str(line);
                out.stdout.push('\n');
            }
        }
        if count && !quiet {
            if many {
                out.stdout.push_str(&format!("{shown}:"));
            }
            out.stdout.push_str(&format!("{n}\n"));
        }
        if quiet && any {
            break;
        }
    }
    out.exit = if any && (quiet || !trouble) {
        0
    } else if trouble {
        2
    } else {
        1
    };
    if quiet {
        out.stdout.clear();
    }
    out
}

fn wc(sys: &mut dyn System, argv: &[String], stdin: Option<&str>) -> Output {
    let (mut l, mut w, mut c) = (false, false, false);
    let mut files = Vec::new();
    for a in &argv[1..] {
        if a.starts_with('-') && a.len() > 1 {
            for ch in a[1..].chars() {
                match ch {
                    'l' => l = true,
                    'w' => w = true,
                    'c' | 'm' => c = true,
                    _ => return bad_option("wc", &ch.to_string()),
                }
            }
        } else {
            files.push(a.clone());
        }
    }
    if !(l || w || c) {
        (l, w, c) = (true, true, true);
    }
    let from_stdin = files.is_empty();
    if from_stdin {
        files.push("-".into());
    }
    let mut out = Output::default();
    let mut rows = Vec::new();
    let mut total = [0usize; 3];
    for f in &files {
        match input(sys, "wc", f, stdin) {
            Ok(t) => {
                let counts = [
                    t.matches('\n').count(),
                    t.split_whitespace().count(),
                    t.len(),
                ];
                for k in 0..3 {
                    total[k] += counts[k];
                }
                rows.push((counts, if from_stdin { String::new() } else { f.clone() }));
            }
            Err(e) => {
                out.stderr.push_str(&e);
                out.exit = 1;
            }
        }
    }
    if files.len() > 1 {
        rows.push((total, "total".into()));
    }
    let shown = [l, w, c];
    let single = shown.iter().filter(|b| **b).count() == 1 && files.len() == 1;
    let width = if single {
        1
    } else if from_stdin {
        7
    } else {
        total[2].to_string().len()
    };
    for (counts, name) in rows {
        let cols: Vec<String> = (0..3)
            .filter(|k| shown[*k])
            .map(|k| format!("{:>width$}", counts[k]))
            .collect();
        let mut line = cols.join(" ");
        if !name.is_empty() {
            line.push(' ');
            line.push_str(&name);
        }
        out.stdout.push_str(&line);
        out.stdout.push('\n');
    }
    out
}

fn head_tail(sys: &mut dyn System, argv: &[String], stdin: Option<&str>) -> Output {
    let prog = argv[0].as_str();
    let mut n: usize = 10;
    let mut from_start = false;
    let mut files = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i];
        let value = if a == "-n" {
            i += 1;
            argv.get(i).cloned()
        } else if let Some(v) = a.strip_prefix("--lines=") {
            Some(v.to_string())
        } else if let Some(v) = a.strip_prefix("-n") {
            Some(v.to_string())
        } else if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| c.is_ascii_digit()) {
            Some(a[1..].to_string())
        } else if a.starts_with('-') && a.len() > 1 {
            return bad_option(prog, a);
        } else {
            files.push(a.clone());
            None
        };
        if let Some(v) = value {
            let v = match v.strip_prefix('+') {
                Some(r) if prog == "tail" => {
                    from_start = true;
                    r.to_string()
                }
                _ => v,
            };
            match v.parse() {
                Ok(k) => n = k,
                Err(_) => {
                    return Output::err(format!("{prog}: invalid number of lines: ‘{v}’\n"), 1)
                }
            }
        }
        i += 1;
    }
    if files.is_empty() {
        files.push("-".into());
    }
    let mut out = Output::default();
    for f in &files {
        let text = match input(sys, prog, f, stdin) {
            Ok(t) => t,
            Err(e) => {
                out.stderr.push_str(&e);
                out.exit = 1;
                continue;
            }
        };
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let pick: &[&str] = if prog == "head" {
            &lines[..n.min(lines.len())]
        } else if from_start {
            &lines[n.saturating_sub(1).min(lines.len())..]
        } else {
            &lines[lines.len().saturating_sub(n)..]
        };
        out.stdout.push_str(&pick.concat());
    }
    out
}
