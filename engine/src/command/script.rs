//! Scripts of commands: shell quoting, comments, line continuations,
//! `;` separators, `< FILE`, `> FILE`, `>> FILE` and here-documents.

use super::{run_argv, Output};
use crate::sim::host::Host;

/// Where a command's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `< FILE`.
    File(String),
    /// A here-document body.
    Text(String),
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCmd {
    /// 1-based line where the command starts.
    pub line: usize,
    /// The command as written (continuations joined, here-document body left out).
    pub text: String,
    pub argv: Vec<String>,
    pub stdin: Option<Input>,
    /// `> FILE` (false) or `>> FILE` (true).
    pub stdout_to: Option<(String, bool)>,
    /// `2> FILE` (false) or `2>> FILE` (true).
    pub stderr_to: Option<(String, bool)>,
    /// `2>&1`.
    pub stderr_to_stdout: bool,
}

/// A script that cannot be read as commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub msg: String,
}

#[derive(Default)]
struct Builder {
    words: Vec<String>,
    cur: String,
    in_word: bool,
    stdin: Option<Input>,
    heredoc: Option<(String, bool)>,
    stdout_to: Option<(String, bool)>,
    stderr_to: Option<(String, bool)>,
    stderr_to_stdout: bool,
    /// The next word completes a redirection.
    pending: Option<Redirect>,
}

#[derive(Clone, Copy)]
enum Redirect {
    In,
    Out(bool),
    Err(bool),
    Heredoc(bool),
}

impl Builder {
    fn end_word(&mut self, line: usize) -> Result<(), ScriptError> {
        if !self.in_word {
            return Ok(());
        }
        let w = std::mem::take(&mut self.cur);
        self.in_word = false;
        match self.pending.take() {
            None => self.words.push(w),
            Some(Redirect::In) => self.stdin = Some(Input::File(w)),
            Some(Redirect::Out(append)) => self.stdout_to = Some((w, append)),
            Some(Redirect::Err(append)) => self.stderr_to = Some((w, append)),
            Some(Redirect::Heredoc(strip)) => {
                if w.is_empty() {
                    return Err(ScriptError {
                        line,
                        msg: "here-document needs a delimiter".into(),
                    });
                }
                self.heredoc = Some((w, strip));
            }
        }
        Ok(())
    }
}

/// Splits a script into commands.
pub fn parse_script(text: &str) -> Result<Vec<ScriptCmd>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let mut b = Builder::default();
        let mut raw = String::new();
        let mut chars: Vec<char> = lines[i].chars().collect();
        let mut pos = 0;
        let mut quote: Option<char> = None;
        loop {
            if pos >= chars.len() {
                // End of a physical line.
                if quote.is_some() {
                    // Quoted newline: continue on the next line.
                    i += 1;
                    if i >= lines.len() {
                        return Err(ScriptError {
                            line: start + 1,
                            msg: "unexpected end of file while looking for matching quote".into(),
                        });
                    }
                    b.cur.push('\n');
                    raw.push('\n');
                    chars = lines[i].chars().collect();
                    pos = 0;
                    continue;
                }
                break;
            }
            let c = chars[pos];
            pos += 1;
            match quote {
                Some('\'') => {
                    raw.push(c);
                    if c == '\'' {
                        quote = None;
                    } else {
                        b.cur.push(c);
                    }
                    continue;
                }
                Some('"') => {
                    raw.push(c);
                    if c == '"' {
                        quote = None;
                    } else if c == '\\' && pos < chars.len() && "$`\"\\".contains(chars[pos]) {
                        b.cur.push(chars[pos]);
                        raw.push(chars[pos]);
                        pos += 1;
                    } else if c == '\\' && pos >= chars.len() {
                        // Backslash-newline inside double quotes joins lines.
                        raw.pop();
                        i += 1;
                        if i >= lines.len() {
                            break;
                        }
                        chars = lines[i].chars().collect();
                        pos = 0;
                    } else {
                        b.cur.push(c);
                    }
                    continue;
                }
                _ => {}
            }
            match c {
                '\\' => {
                    if pos >= chars.len() {
                        // Line continuation.
                        i += 1;
                        if i >= lines.len() {
                            break;
                        }
                        chars = lines[i].chars().collect();
                        pos = 0;
                        continue;
                    }
                    raw.push(c);
                    raw.push(chars[pos]);
                    b.cur.push(chars[pos]);
                    b.in_word = true;
                    pos += 1;
                }
                '\'' | '"' => {
                    raw.push(c);
                    quote = Some(c);
                    b.in_word = true;
                }
                ' ' | '\t' => {
                    raw.push(c);
                    b.end_word(i + 1)?;
                }
                '#' if !b.in_word => break,
                ';' => {
                    b.end_word(i + 1)?;
                    push_cmd(&mut cmds, &mut b, start, &raw, &lines, &mut i)?;
                    b = Builder::default();
                    raw.clear();
                }
                '<' => {
                    b.end_word(i + 1)?;
                    raw.push(c);
                    if chars.get(pos) == Some(&'<') {
                        raw.push('<');
                        pos += 1;
                        let strip = chars.get(pos) == Some(&'-');
                        if strip {
                            raw.push('-');
                            pos += 1;
                        }
                        b.pending = Some(Redirect::Heredoc(strip));
                    } else {
                        b.pending = Some(Redirect::In);
                    }
                    while chars.get(pos) == Some(&' ') {
                        raw.push(' ');
                        pos += 1;
                    }
                }
                '>' => {
                    // `2>`: the word so far is the descriptor of standard error.
                    let fd2 = b.in_word && b.cur == "2" && raw.ends_with('2');
                    if fd2 {
                        b.cur.clear();
                        b.in_word = false;
                    } else {
                        b.end_word(i + 1)?;
                    }
                    raw.push(c);
                    if fd2 && chars.get(pos) == Some(&'&') && chars.get(pos + 1) == Some(&'1') {
                        raw.push_str("&1");
                        pos += 2;
                        b.stderr_to_stdout = true;
                        continue;
                    }
                    let append = chars.get(pos) == Some(&'>');
                    if append {
                        raw.push('>');
                        pos += 1;
                    }
                    b.pending = Some(if fd2 {
                        Redirect::Err(append)
                    } else {
                        Redirect::Out(append)
                    });
                    while chars.get(pos) == Some(&' ') {
                        raw.push(' ');
                        pos += 1;
                    }
                }
                '|' | '&' | '`' | '(' | ')' => {
                    return Err(ScriptError {
                        line: i + 1,
                        msg: format!("syntax `{c}' is not part of the script language"),
                    });
                }
                _ => {
                    raw.push(c);
                    b.cur.push(c);
                    b.in_word = true;
                }
            }
        }
        b.end_word(i + 1)?;
        if b.pending.is_some() {
            return Err(ScriptError {
                line: i + 1,
                msg: "syntax error near unexpected token `newline'".into(),
            });
        }
        push_cmd(&mut cmds, &mut b, start, &raw, &lines, &mut i)?;
        i += 1;
    }
    Ok(cmds)
}

/// Finishes a command; reads a pending here-document body from the following lines.
fn push_cmd(
    cmds: &mut Vec<ScriptCmd>,
    b: &mut Builder,
    start: usize,
    raw: &str,
    lines: &[&str],
    i: &mut usize,
) -> Result<(), ScriptError> {
    if let Some((delim, strip)) = b.heredoc.take() {
        let delim = delim.trim_matches(|c| c == '\'' || c == '"').to_string();
        let mut body = String::new();
        let mut found = false;
        while *i + 1 < lines.len() {
            *i += 1;
            let l = lines[*i];
            let l = if strip { l.trim_start_matches('\t') } else { l };
            if l == delim {
                found = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        if !found {
            return Err(ScriptError {
                line: start + 1,
                msg: format!("here-document delimited by end-of-file (wanted `{delim}')"),
            });
        }
        b.stdin = Some(Input::Text(body));
    }
    if b.words.is_empty() {
        return Ok(());
    }
    cmds.push(ScriptCmd {
        line: start + 1,
        text: raw.trim().to_string(),
        argv: std::mem::take(&mut b.words),
        stdin: b.stdin.take(),
        stdout_to: b.stdout_to.take(),
        stderr_to: b.stderr_to.take(),
        stderr_to_stdout: std::mem::take(&mut b.stderr_to_stdout),
    });
    Ok(())
}

/// Runs one parsed command: resolves its input, runs it, applies `>` / `>>`.
/// `read_file` reads `< FILE` (a host file first, then whatever the caller offers).
pub fn run_cmd(
    host: &mut Host,
    cmd: &ScriptCmd,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Output {
    let stdin = match &cmd.stdin {
        None => None,
        Some(Input::Text(t)) => Some(t.clone()),
        Some(Input::File(f)) => match host.files.get(f) {
            Some(t) => Some(t.clone()),
            None => match read_file(f) {
                Ok(t) => Some(t),
                Err(e) => return Output::err(format!("sh: {f}: {e}\n"), 1),
            },
        },
    };
    let mut out = run_argv(host, &cmd.argv, stdin.as_deref());
    if cmd.stderr_to_stdout {
        let err = std::mem::take(&mut out.stderr);
        out.stdout.push_str(&err);
    }
    if let Some((path, append)) = &cmd.stdout_to {
        let text = std::mem::take(&mut out.stdout);
        write_file(host, path, *append, &text);
    }
    if let Some((path, append)) = &cmd.stderr_to {
        let text = std::mem::take(&mut out.stderr);
        write_file(host, path, *append, &text);
    }
    out
}

/// A redirection into a file of the host (`/dev/null` keeps nothing).
fn write_file(host: &mut Host, path: &str, append: bool, text: &str) {
    if path == "/dev/null" {
        return;
    }
    let entry = host.files.entry(path.to_string()).or_default();
    if !append {
        entry.clear();
    }
    entry.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_comments_and_continuations() {
        let s = "# comment\niptables -A INPUT \\\n  -m comment --comment 'a b' -j ACCEPT # trailing\necho \"x\\\"y\"\n";
        let cmds = parse_script(s).unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(
            cmds[0].argv,
            vec![
                "iptables",
                "-A",
                "INPUT",
                "-m",
                "comment",
                "--comment",
                "a b",
                "-j",
                "ACCEPT"
            ]
        );
        assert_eq!(cmds[0].line, 2);
        assert_eq!(cmds[1].argv, vec!["echo", "x\"y"]);
    }

    #[test]
    fn heredoc_and_redirects() {
        let s = "iptables-restore <<EOF\n*filter\nCOMMIT\nEOF\niptables-save > out.txt\nipset restore < sets.txt\n";
        let cmds = parse_script(s).unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0].stdin, Some(Input::Text("*filter\nCOMMIT\n".into())));
        assert_eq!(cmds[1].stdout_to, Some(("out.txt".into(), false)));
        assert_eq!(cmds[2].stdin, Some(Input::File("sets.txt".into())));
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        let e = parse_script("iptables-restore <<EOF\n*filter\n").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn stderr_redirections() {
        let cmds = parse_script("iptables -X foo 2>/dev/null\niptables -L 2>&1 >out\necho 2 > f\n")
            .unwrap();
        assert_eq!(cmds[0].argv, vec!["iptables", "-X", "foo"]);
        assert_eq!(cmds[0].stderr_to, Some(("/dev/null".into(), false)));
        assert!(cmds[1].stderr_to_stdout);
        assert_eq!(cmds[1].stdout_to, Some(("out".into(), false)));
        assert_eq!(cmds[2].argv, vec!["echo", "2"]);
    }

    #[test]
    fn iptables_bundled_options_survive() {
        let cmds = parse_script("iptables -Lvn").unwrap();
        assert_eq!(cmds[0].argv, vec!["iptables", "-Lvn"]);
    }
}
