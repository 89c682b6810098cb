//! Running parsed commands: lists, `&&`/`||`, pipelines (each stage's
//! output is the next one's input), `for`, `if`, groups, redirections and
//! the built-ins (`exit`, `export`, `unset`, `[`/`test`, `echo`, `cat`,
//! `rm`, `ls`, `grep`, `wc`, `head`, `tail`, `true`, `false`, `:`).

use super::parse::{AndOr, Cmd, CmdKind, Pipeline, RedirKind, Simple};
use super::{utils, ItemResult, Mode, Stream, System, Vars, MAX_ITERATIONS, MAX_TEXT};
use crate::command::Output;

/// Why a run stops before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The `exit` built-in.
    Status(i32),
    /// A limit of the playground was reached.
    Limit(i32),
}

/// Output captured for a substitution, a pipe or a redirection.
#[derive(Debug, Default)]
pub struct Frame {
    pub out: String,
    /// `Some`: standard error is captured too.
    pub err: Option<String>,
}

/// Where a descriptor's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Up(Stream),
    File(String, bool),
    Null,
}

pub struct Shell<'a> {
    sys: &'a mut dyn System,
    pub vars: &'a mut Vars,
    mode: Mode,
    pub status: i32,
    /// Status of the last command substitution of the current command.
    pub sub_status: Option<i32>,
    line: usize,
    frames: Vec<Frame>,
    pieces: Vec<(Stream, String)>,
    iterations: u64,
    pub subst_depth: usize,
    /// Standard input handed down (a pipe, `< FILE` on a compound command).
    pub stdin: Option<String>,
}

impl<'a> Shell<'a> {
    pub fn new(sys: &'a mut dyn System, vars: &'a mut Vars, mode: Mode) -> Shell<'a> {
        let status = vars.get("?").and_then(|s| s.parse().ok()).unwrap_or(0);
        Shell {
            sys,
            vars,
            mode,
            status,
            sub_status: None,
            line: 1,
            frames: Vec::new(),
            pieces: Vec::new(),
            iterations: 0,
            subst_depth: 0,
            stdin: None,
        }
    }

    /// Runs a top-level command and hands back what it printed.
    pub fn run_top(mut self, body: &AndOr) -> ItemResult {
        let (exit, stop) = match self.and_or(body) {
            Ok(s) => (s, false),
            Err(Exit::Status(s)) | Err(Exit::Limit(s)) => (s, true),
        };
        self.status = exit;
        self.vars.insert("?".into(), exit.to_string());
        ItemResult {
            pieces: std::mem::take(&mut self.pieces),
            exit,
            stop,
        }
    }

    /// `bash: line N: ` or `-bash: `.
    pub fn prefix(&self) -> String {
        super::error_prefix(self.mode, self.line)
    }

    pub fn push_frame(&mut self, capture_err: bool) {
        self.frames.push(Frame {
            out: String::new(),
            err: capture_err.then(String::new),
        });
    }

    pub fn pop_frame(&mut self) -> Frame {
        self.frames.pop().unwrap_or_default()
    }

    /// Writes output where the innermost capture (or the terminal) takes it.
    pub fn emit(&mut self, stream: Stream, text: &str) {
        if text.is_empty() {
            return;
        }
        let buf = match stream {
            Stream::Out => self.frames.last_mut().map(|f| &mut f.out),
            Stream::Err => self.frames.iter_mut().rev().find_map(|f| f.err.as_mut()),
        };
        let buf = match buf {
            Some(b) => b,
            None => {
                if let Some((s, t)) = self.pieces.last_mut() {
                    if *s == stream && t.len() < MAX_TEXT {
                        t.push_str(text);
                        return;
                    }
                }
                let total: usize = self.pieces.iter().map(|(_, t)| t.len()).sum();
                if total < MAX_TEXT {
                    self.pieces.push((stream, text.to_string()));
                }
                return;
            }
        };
        if buf.len() < MAX_TEXT {
            buf.push_str(text);
        }
    }

    fn error(&mut self, msg: &str) {
        let m = format!("{}{msg}\n", self.prefix());
        self.emit(Stream::Err, &m);
    }

    pub fn run_list(&mut self, list: &[AndOr]) -> Result<i32, Exit> {
        let mut status = self.status;
        for a in list {
            status = self.and_or(a)?;
        }
        Ok(status)
    }

    fn and_or(&mut self, a: &AndOr) -> Result<i32, Exit> {
        let mut status = self.pipeline(&a.first)?;
        for (and, p) in &a.rest {
            if (status == 0) == *and {
                status = self.pipeline(p)?;
            }
        }
        Ok(status)
    }

    fn pipeline(&mut self, p: &Pipeline) -> Result<i32, Exit> {
        let inherited = self.stdin.take();
        let mut input = inherited;
        let mut status = 0;
        let n = p.cmds.len();
        for (k, c) in p.cmds.iter().enumerate() {
            self.stdin = input.take();
            if k + 1 < n {
                self.push_frame(false);
                let r = self.command(c);
                let f = self.pop_frame();
                r?;
                input = Some(f.out);
            } else {
                status = self.command(c)?;
            }
        }
        self.stdin = None;
        if p.bang {
            status = i32::from(status == 0);
        }
        self.status = status;
        Ok(status)
    }

    fn command(&mut self, c: &Cmd) -> Result<i32, Exit> {
        self.line = c.line;
        let status = match &c.kind {
            CmdKind::Simple(s) => self.simple(s, c)?,
            _ => {
                // Compound command: its redirections apply to everything inside.
                let mut targets = [Target::Up(Stream::Out), Target::Up(Stream::Err)];
                if let Err(s) = self.redirections(c, &mut targets) {
                    self.status = s;
                    return Ok(s);
                }
                let redirected = !c.redirs.is_empty();
                if redirected {
                    self.push_frame(true);
                }
                let r = self.compound(&c.kind);
                if redirected {
                    let f = self.pop_frame();
                    let out = Output {
                        stdout: f.out,
                        stderr: f.err.unwrap_or_default(),
                        exit: 0,
                    };
                    self.route(out, &targets);
                }
                r?
            }
        };
        self.status = status;
        Ok(status)
    }

    fn compound(&mut self, kind: &CmdKind) -> Result<i32, Exit> {
        match kind {
            CmdKind::For { var, words, body } => {
                let items = match words {
                    Some(ws) => self.expand_words(ws)?,
                    None => Vec::new(),
                };
                let mut status = 0;
                for it in items {
                    self.iterations += 1;
                    if self.iterations > MAX_ITERATIONS {
                        return Err(
                            self.limit(&format!("loops ran more than {MAX_ITERATIONS} times"))
                        );
                    }
                    self.vars.insert(var.clone(), it);
                    status = self.run_list(body)?;
                }
                Ok(status)
            }
            CmdKind::If { arms, otherwise } => {
                for (cond, body) in arms {
                    if self.run_list(cond)? == 0 {
                        return self.run_list(body);
                    }
                }
                match otherwise {
                    Some(b) => self.run_list(b),
                    None => Ok(0),
                }
            }
            CmdKind::Group(list) => self.run_list(list),
            CmdKind::Simple(_) => Ok(self.status),
        }
    }

    /// Applies a command's redirections: standard input (`self.stdin`) and
    /// where descriptors 1 and 2 go. `Err` is the status of a failed one.
    fn redirections(&mut self, c: &Cmd, targets: &mut [Target; 2]) -> Result<(), i32> {
        for r in &c.redirs {
            match &r.kind {
                RedirKind::In(w) => {
                    let path = self.redirect_path(w)?;
                    match self.sys.read(&path) {
                        Ok(t) => {
                            if r.fd == 0 {
                                self.stdin = Some(t);
                            }
                        }
                        Err(e) => {
                            self.error(&format!("{path}: {e}"));
                            return Err(1);
                        }
                    }
                }
                RedirKind::Heredoc { body, expand } => {
                    let text = if *expand {
                        self.expand_heredoc(body)
                    } else {
                        body.clone()
                    };
                    if r.fd == 0 {
                        self.stdin = Some(text);
                    }
                }
                RedirKind::Out(w, append) => {
                    let path = self.redirect_path(w)?;
                    let t = if path == "/dev/null" {
                        Target::Null
                    } else {
                        Target::File(path, *append)
                    };
                    match r.fd {
                        1 => targets[0] = t,
                        2 => targets[1] = t,
                        _ => {
                            if let Target::File(p, a) = &t {
                                let (p, a) = (p.clone(), *a);
                                self.write_target(&p, "", a)?;
                            }
                        }
                    }
                }
                RedirKind::Dup(w) => {
                    let to = self.redirect_path(w)?;
                    let t = match to.as_str() {
                        "1" => targets[0].clone(),
                        "2" => targets[1].clone(),
                        "-" => Target::Null,
                        _ => {
                            self.error(&format!("{to}: Bad file descriptor"));
                            return Err(1);
                        }
                    };
                    match r.fd {
                        1 => targets[0] = t,
                        2 => targets[1] = t,
                        fd => {
                            self.error(&format!("{fd}: Bad file descriptor"));
                            return Err(1);
                        }
                    }
                }
            }
        }
        // `> FILE` empties the file even when nothing is written.
        for t in targets.iter() {
            if let Target::File(p, false) = t {
                let p = p.clone();
                self.write_target(&p, "", false)?;
            }
        }
        Ok(())
    }

    fn write_target(&mut self, path: &str, text: &str, append: bool) -> Result<(), i32> {
        if let Err(e) = self.sys.write(path, text, append) {
            self.error(&e);
            return Err(1);
        }
        Ok(())
    }

    fn redirect_path(&mut self, w: &super::parse::Word) -> Result<String, i32> {
        let fields = match self.expand_fields(w) {
            Ok(f) => f,
            Err(_) => return Err(1),
        };
        match fields.as_slice() {
            [one] => Ok(one.clone()),
            _ => {
                let shown = self.expand_string(w).unwrap_or_default();
                self.error(&format!("{shown}: ambiguous redirect"));
                Err(1)
            }
        }
    }

    /// Sends a command's output to its targets (files are appended after the
    /// truncation the redirection did).
    fn route(&mut self, out: Output, targets: &[Target; 2]) {
        for (text, t) in [(out.stdout, &targets[0]), (out.stderr, &targets[1])] {
            match t {
                Target::Up(s) => self.emit(*s, &text),
                Target::Null => {}
                Target::File(p, _) => {
                    if !text.is_empty() {
                        let p = p.clone();
                        let _ = self.write_target(&p, &text, true);
                    }
                }
            }
        }
    }

    fn simple(&mut self, s: &Simple, c: &Cmd) -> Result<i32, Exit> {
        self.sub_status = None;
        let argv = self.expand_words(&s.words)?;
        let mut assigned = Vec::new();
        for (name, w) in &s.assigns {
            let v = self.expand_string(w)?;
            assigned.push((name.clone(), v));
        }
        self.line = c.line;
        let inherited = self.stdin.take();
        let mut targets = [Target::Up(Stream::Out), Target::Up(Stream::Err)];
        if let Err(st) = self.redirections(c, &mut targets) {
            return Ok(st);
        }
        if self.stdin.is_none() {
            self.stdin = inherited;
        }
        if argv.is_empty() {
            // Assignments only: they stay.
            for (n, v) in assigned {
                self.vars.insert(n, v);
            }
            self.stdin = None;
            return Ok(self.sub_status.unwrap_or(0));
        }
        let out = self.program(&argv)?;
        self.stdin = None;
        let exit = out.exit;
        self.route(out, &targets);
        Ok(exit)
    }

    /// Runs a built-in or a program of the system.
    fn program(&mut self, argv: &[String]) -> Result<Output, Exit> {
        let name = argv[0].as_str();
        let p = self.prefix();
        let out = match name {
            "exit" => {
                return match argv.len() {
                    1 => Err(Exit::Status(self.status)),
                    2 => match argv[1].trim().parse::<i64>() {
                        Ok(n) => Err(Exit::Status((n & 255) as i32)),
                        Err(_) => {
                            self.error(&format!("exit: {}: numeric argument required", argv[1]));
                            Err(Exit::Status(2))
                        }
                    },
                    _ => Ok(Output::err(format!("{p}exit: too many arguments\n"), 1)),
                };
            }
            "export" | "unset" | "readonly" | "local" => {
                let mut out = Output::default();
                for a in &argv[1..] {
                    let (n, v) = match a.split_once('=') {
                        Some((n, v)) => (n, Some(v)),
                        None => (a.as_str(), None),
                    };
                    if a.starts_with('-') && name == "export" {
                        continue;
                    }
                    if !super::parse::is_name(n) {
                        out.stderr
                            .push_str(&format!("{p}{name}: `{a}': not a valid identifier\n"));
                        out.exit = 1;
                        continue;
                    }
                    match (name, v) {
                        ("unset", _) => {
                            self.vars.remove(n);
                        }
                        (_, Some(v)) => {
                            self.vars.insert(n.to_string(), v.to_string());
                        }
                        _ => {}
                    }
                }
                out
            }
            "set" => Output::err(
                format!("{p}set: shell options are not supported by this shell\n"),
                2,
            ),
            "cd" | "pwd" => match name {
                "pwd" => Output::ok("/root\n"),
                _ => Output::default(),
            },
            "true" | ":" => Output::default(),
            "false" => Output::err("", 1),
            "echo" => crate::sim::tools::shell::echo(argv),
            "[" | "test" => {
                let args: &[String] = if name == "[" {
                    if argv.last().map(String::as_str) != Some("]") {
                        return Ok(Output::err(format!("{p}[: missing `]'\n"), 2));
                    }
                    &argv[1..argv.len() - 1]
                } else {
                    &argv[1..]
                };
                match utils::test(self.sys, args) {
                    Ok(true) => Output::default(),
                    Ok(false) => Output::err("", 1),
                    Err(e) => Output::err(format!("{p}{name}: {e}\n"), 2),
                }
            }
            "cat" | "rm" | "ls" | "grep" | "egrep" | "fgrep" | "wc" | "head" | "tail" => {
                let stdin = self.stdin.take();
                utils::run(self.sys, argv, stdin.as_deref())
            }
            _ => {
                let stdin = self.stdin.take();
                match self.sys.run(argv, stdin.as_deref()) {
                    Some(o) => o,
                    None => Output::err(format!("{p}{name}: command not found\n"), 127),
                }
            }
        };
        Ok(out)
    }
}
