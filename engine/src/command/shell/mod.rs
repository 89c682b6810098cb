//! A small shell for the field guide's scripts: variables, `for`, `if`,
//! `[ … ]`, `&&`/`||`, pipes, command substitution, redirections and
//! here-documents, with bash's error texts. It runs on anything that
//! implements [`System`] (a lab host: [`world::HostSystem`]).
//!
//! A script is parsed whole first ([`Script::parse`]); its top-level
//! commands ([`Item`]s, one per `;` or line) then run one at a time with
//! [`run_item`], so callers can print each command's output and packets.

pub mod exec;
pub mod expand;
pub mod lex;
pub mod parse;
pub mod utils;
pub mod world;

use super::Output;
use std::collections::BTreeMap;

/// Most loop iterations one run may take.
pub const MAX_ITERATIONS: u64 = 100_000;
/// Largest value a variable, a substitution or a captured output may hold (bytes).
pub const MAX_TEXT: usize = 4 << 20;
/// Most words one expansion may make.
pub const MAX_FIELDS: usize = 100_000;
/// Deepest nesting of command substitutions at run time.
pub const MAX_SUBST_DEPTH: usize = 16;

/// Text the shell cannot read as commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    pub line: usize,
    /// bash's message without the `bash: line N: ` prefix.
    pub msg: String,
    /// The text ends too early (an open quote, `for` without `done` …):
    /// a terminal asks for more lines.
    pub incomplete: bool,
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
}

/// The machine a script runs on: its programs and its files.
pub trait System {
    /// Runs a program that is not a shell built-in; `None` when there is no such program.
    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> Option<Output>;
    /// Reads a file; the error is the reason (`No such file or directory`).
    fn read(&mut self, path: &str) -> Result<String, String>;
    /// Writes a file (`>` truncates, `>>` appends); the error is bash's
    /// message after `bash: line N: ` (`/proc/sys/x: Permission denied`).
    fn write(&mut self, path: &str, text: &str, append: bool) -> Result<(), String>;
    fn kind(&mut self, path: &str) -> Option<FileKind>;
    /// Removes a file; the error is the reason.
    fn remove(&mut self, path: &str) -> Result<(), String>;
    /// Names in a directory (`None`: no such directory).
    fn list(&mut self, _dir: &str) -> Option<Vec<String>> {
        None
    }
}

/// How errors name the shell: a script (`bash: line 3: `) or a terminal (`-bash: `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Script,
    Terminal,
}

/// Which stream a piece of output went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub items: Vec<Item>,
}

/// One top-level command (an and-or list ended by `;` or a newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 1-based line where it starts.
    pub line: usize,
    /// The command as written (continuations joined, comments and
    /// here-document bodies left out).
    pub text: String,
    pub body: parse::AndOr,
}

impl Item {
    /// The words of a plain command (one simple command, literal words, no
    /// redirections): what a terminal checks for its own commands (`clear`).
    pub fn plain_words(&self) -> Option<Vec<String>> {
        if !self.body.rest.is_empty() || self.body.first.bang || self.body.first.cmds.len() != 1 {
            return None;
        }
        let cmd = &self.body.first.cmds[0];
        let parse::CmdKind::Simple(s) = &cmd.kind else {
            return None;
        };
        if !cmd.redirs.is_empty() || !s.assigns.is_empty() {
            return None;
        }
        s.words
            .iter()
            .map(|w| {
                let mut out = String::new();
                for p in w {
                    match p {
                        parse::Part::Lit { text, .. } => out.push_str(text),
                        _ => return None,
                    }
                }
                Some(out)
            })
            .collect()
    }
}

impl Script {
    pub fn parse(text: &str) -> Result<Script, ShellError> {
        Script::parse_from(text, 1)
    }

    /// Parses text whose first line is line `first_line` of a larger script.
    pub fn parse_from(text: &str, first_line: usize) -> Result<Script, ShellError> {
        let src: Vec<char> = text.chars().collect();
        let list = parse::parse(&src, first_line, 0)?;
        let items = list
            .into_iter()
            .map(|body| {
                let raw: String = src[body.start.min(src.len())..body.end.min(src.len())]
                    .iter()
                    .collect();
                Item {
                    line: body.line,
                    text: raw.replace("\\\n", "").trim().to_string(),
                    body,
                }
            })
            .collect();
        Ok(Script { items })
    }
}

/// Shell variables of one host (`?` holds the last exit status).
pub type Vars = BTreeMap<String, String>;

/// What one top-level command printed, in order, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemResult {
    pub pieces: Vec<(Stream, String)>,
    pub exit: i32,
    /// `exit` ran: the script stops here.
    pub stop: bool,
}

impl ItemResult {
    /// Standard output and error as one [`Output`] (each stream in order).
    pub fn output(&self) -> Output {
        let mut o = Output {
            exit: self.exit,
            ..Default::default()
        };
        for (s, t) in &self.pieces {
            match s {
                Stream::Out => o.stdout.push_str(t),
                Stream::Err => o.stderr.push_str(t),
            }
        }
        o
    }
}

/// Runs one top-level command with the host's variables.
pub fn run_item(sys: &mut dyn System, vars: &mut Vars, item: &Item, mode: Mode) -> ItemResult {
    exec::Shell::new(sys, vars, mode).run_top(&item.body)
}

/// The prefix of a shell error message.
pub fn error_prefix(mode: Mode, line: usize) -> String {
    match mode {
        Mode::Script => format!("bash: line {line}: "),
        Mode::Terminal => "-bash: ".to_string(),
    }
}

#[cfg(test)]
mod tests;
