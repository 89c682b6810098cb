//! The shell grammar this playground speaks: lists (`;`, newlines, `&&`,
//! `||`), pipelines (`|`, `!`), simple commands with assignments and
//! redirections, `for … in …; do … done`, `if … then … elif … else … fi`
//! and `{ …; }` groups.

use super::lex::{self, LexPart, Op, RedirOp, Tok, Token};
use super::ShellError;

/// Deepest nesting of compound commands and substitutions.
const MAX_DEPTH: usize = 64;

/// A piece of a word, ready to expand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit { text: String, quoted: bool },
    Var { name: String, quoted: bool },
    Sub { list: Vec<AndOr>, quoted: bool },
}

pub type Word = Vec<Part>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirKind {
    In(Word),
    Out(Word, bool),
    /// `N>&M`: descriptor M (`-` closes: treated as /dev/null).
    Dup(Word),
    Heredoc {
        body: String,
        expand: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redir {
    pub fd: u32,
    pub kind: RedirKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdKind {
    Simple(Simple),
    For {
        var: String,
        words: Option<Vec<Word>>,
        body: Vec<AndOr>,
    },
    If {
        arms: Vec<(Vec<AndOr>, Vec<AndOr>)>,
        otherwise: Option<Vec<AndOr>>,
    },
    Group(Vec<AndOr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub line: usize,
    pub kind: CmdKind,
    pub redirs: Vec<Redir>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub bang: bool,
    pub cmds: Vec<Cmd>,
}

/// Pipelines joined by `&&` (true) and `||` (false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    pub line: usize,
    pub first: Pipeline,
    pub rest: Vec<(bool, Pipeline)>,
    /// Char span in the source.
    pub start: usize,
    pub end: usize,
}

struct Parser<'a> {
    src: &'a [char],
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "for", "in", "do", "done", "{", "}", "!", "while", "until",
    "case", "esac", "function", "select",
];

/// Parses source text (lines numbered from `first_line`) into and-or lists.
pub fn parse(src: &[char], first_line: usize, depth: usize) -> Result<Vec<AndOr>, ShellError> {
    if depth > MAX_DEPTH {
        return Err(ShellError {
            line: first_line,
            msg: "commands nested too deeply".into(),
            incomplete: false,
        });
    }
    let toks = lex::lex(src, first_line)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth,
    };
    let list = p.list(&[])?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(p.unexpected(t));
    }
    Ok(list)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn eof_line(&self) -> usize {
        self.toks.last().map(|t| t.line).unwrap_or(1)
            + self
                .src
                .iter()
                .rev()
                .take_while(|c| **c == '\n')
                .count()
                .max(1)
    }

    fn eof(&self) -> ShellError {
        ShellError {
            line: self.eof_line(),
            msg: "syntax error: unexpected end of file".into(),
            incomplete: true,
        }
    }

    fn unexpected(&self, t: &Token) -> ShellError {
        ShellError {
            line: t.line,
            msg: format!("syntax error near unexpected token `{}'", t.shown(self.src)),
            incomplete: false,
        }
    }

    /// The reserved word at the current token, if it is one.
    fn keyword(&self) -> Option<&'static str> {
        match &self.peek()?.tok {
            Tok::Word(parts) => match parts.as_slice() {
                [LexPart::Lit {
                    text,
                    quoted: false,
                }] => RESERVED.iter().copied().find(|k| k == text),
                _ => None,
            },
            _ => None,
        }
    }

    fn is_op(&self, op: Op) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    fn skip_newlines(&mut self) {
        while self.is_op(Op::Newline) {
            self.pos += 1;
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), ShellError> {
        self.skip_newlines();
        match self.peek() {
            None => Err(self.eof()),
            Some(t) if self.keyword() == Some(k_static(k)) => {
                let _ = t;
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(self.unexpected(t)),
        }
    }

    /// A list up to one of the `stop` keywords (not consumed) or the end.
    fn list(&mut self, stop: &[&str]) -> Result<Vec<AndOr>, ShellError> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            let Some(t) = self.peek() else {
                if stop.is_empty() {
                    return Ok(out);
                }
                return Err(self.eof());
            };
            if let Some(k) = self.keyword() {
                if stop.contains(&k) {
                    if out.is_empty() {
                        return Err(self.unexpected(t));
                    }
                    return Ok(out);
                }
            }
            if !stop.is_empty() || self.is_op(Op::RParen) {
                // inside a compound command
            }
            out.push(self.and_or()?);
            match self.peek() {
                None => {}
                Some(Token {
                    tok: Tok::Op(Op::Semi | Op::Newline),
                    ..
                }) => self.pos += 1,
                Some(Token {
                    tok: Tok::Op(Op::Amp),
                    line,
                    ..
                }) => {
                    return Err(ShellError {
                        line: *line,
                        msg: "background jobs (`&') are not supported by this shell".into(),
                        incomplete: false,
                    })
                }
                Some(t) => {
                    if let Some(k) = self.keyword() {
                        if stop.contains(&k) {
                            continue;
                        }
                    }
                    return Err(self.unexpected(t));
                }
            }
        }
    }

    fn and_or(&mut self) -> Result<AndOr, ShellError> {
        let start_tok = self.pos;
        let line = self.peek().map(|t| t.line).unwrap_or(1);
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let and = if self.is_op(Op::And) {
                true
            } else if self.is_op(Op::Or) {
                false
            } else {
                break;
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((and, self.pipeline()?));
        }
        let start = self.toks.get(start_tok).map(|t| t.start).unwrap_or(0);
        let end = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map(|t| t.end)
            .unwrap_or(start);
        Ok(AndOr {
            line,
            first,
            rest,
            start,
            end,
        })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ShellError> {
        let mut bang = false;
        while self.keyword() == Some("!") {
            self.pos += 1;
            bang = !bang;
        }
        let mut cmds = vec![self.command()?];
        while self.is_op(Op::Pipe) {
            self.pos += 1;
            self.skip_newlines();
            cmds.push(self.command()?);
        }
        Ok(Pipeline { bang, cmds })
    }

    fn command(&mut self) -> Result<Cmd, ShellError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.eof());
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ShellError {
                line: t.line,
                msg: "commands nested too deeply".into(),
                incomplete: false,
            });
        }
        let r = self.command_inner(&t);
        self.depth -= 1;
        r
    }

    fn command_inner(&mut self, t: &Token) -> Result<Cmd, ShellError> {
        let line = t.line;
        let kind = match self.keyword() {
            Some("for") => {
                self.pos += 1;
                self.for_cmd()?
            }
            Some("if") => {
                self.pos += 1;
                self.if_cmd()?
            }
            Some("{") => {
                self.pos += 1;
                let body = self.list(&["}"])?;
                self.expect_keyword("}")?;
                CmdKind::Group(body)
            }
            Some(k @ ("while" | "until" | "case" | "function" | "select")) => {
                return Err(ShellError {
                    line,
                    msg: format!("`{k}' is not supported by this shell (it knows for, if, &&, ||, | and {{ }})"),
                    incomplete: false,
                })
            }
            Some("!") => return Err(self.unexpected(t)),
            Some(_) => return Err(self.unexpected(t)),
            None => return self.simple(line),
        };
        let mut redirs = Vec::new();
        while let Some(Token {
            tok: Tok::Redir { .. },
            ..
        }) = self.peek()
        {
            redirs.push(self.redir()?);
        }
        Ok(Cmd { line, kind, redirs })
    }

    fn for_cmd(&mut self) -> Result<CmdKind, ShellError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.eof());
        };
        let var = match &t.tok {
            Tok::Word(p) => match p.as_slice() {
                [LexPart::Lit {
                    text,
                    quoted: false,
                }] if is_name(text) => text.clone(),
                _ => {
                    return Err(ShellError {
                        line: t.line,
                        msg: format!("`{}': not a valid identifier", t.shown(self.src)),
                        incomplete: false,
                    })
                }
            },
            _ => return Err(self.unexpected(&t)),
        };
        self.pos += 1;
        self.skip_newlines();
        let mut words = None;
        if self.keyword() == Some("in") {
            self.pos += 1;
            let mut ws = Vec::new();
            while let Some(Token {
                tok: Tok::Word(p), ..
            }) = self.peek()
            {
                let p = p.clone();
                self.pos += 1;
                ws.push(self.word(p)?);
            }
            words = Some(ws);
            match self.peek() {
                None => return Err(self.eof()),
                Some(Token {
                    tok: Tok::Op(Op::Semi | Op::Newline),
                    ..
                }) => self.pos += 1,
                Some(t) => return Err(self.unexpected(&t.clone())),
            }
        } else if self.is_op(Op::Semi) {
            self.pos += 1;
        }
        self.expect_keyword("do")?;
        let body = self.list(&["done"])?;
        self.expect_keyword("done")?;
        Ok(CmdKind::For { var, words, body })
    }

    fn if_cmd(&mut self) -> Result<CmdKind, ShellError> {
        let mut arms = Vec::new();
        let mut otherwise = None;
        loop {
            let cond = self.list(&["then"])?;
            self.expect_keyword("then")?;
            let body = self.list(&["elif", "else", "fi"])?;
            arms.push((cond, body));
            match self.keyword() {
                Some("elif") => {
                    self.pos += 1;
                }
                Some("else") => {
                    self.pos += 1;
                    otherwise = Some(self.list(&["fi"])?);
                    self.expect_keyword("fi")?;
                    break;
                }
                _ => {
                    self.expect_keyword("fi")?;
                    break;
                }
            }
        }
        Ok(CmdKind::If { arms, otherwise })
    }

    fn simple(&mut self, line: usize) -> Result<Cmd, ShellError> {
        let mut assigns = Vec::new();
        let mut words = Vec::new();
        let mut redirs = Vec::new();
        loop {
            match self.peek() {
                Some(Token {
                    tok: Tok::Word(p), ..
                }) => {
                    let p = p.clone();
                    self.pos += 1;
                    if words.is_empty() {
                        if let Some((name, value)) = split_assignment(&p) {
                            assigns.push((name, self.word(value)?));
                            continue;
                        }
                    }
                    words.push(self.word(p)?);
                }
                Some(Token {
                    tok: Tok::Redir { .. },
                    ..
                }) => redirs.push(self.redir()?),
                Some(Token {
                    tok: Tok::Op(Op::LParen | Op::RParen | Op::DoubleSemi),
                    ..
                }) => {
                    let t = self.peek().cloned();
                    if let Some(t) = t {
                        if !words.is_empty() || !assigns.is_empty() || !redirs.is_empty() {
                            return Err(self.unexpected(&t));
                        }
                        return Err(ShellError {
                            line: t.line,
                            msg: if t.tok == Tok::Op(Op::LParen) {
                                "subshells `( … )' are not supported by this shell; use { …; }"
                                    .to_string()
                            } else {
                                format!(
                                    "syntax error near unexpected token `{}'",
                                    t.shown(self.src)
                                )
                            },
                            incomplete: false,
                        });
                    }
                }
                _ => break,
            }
        }
        if words.is_empty() && assigns.is_empty() && redirs.is_empty() {
            return match self.peek() {
                None => Err(self.eof()),
                Some(t) => Err(self.unexpected(&t.clone())),
            };
        }
        Ok(Cmd {
            line,
            kind: CmdKind::Simple(Simple { assigns, words }),
            redirs,
        })
    }

    fn redir(&mut self) -> Result<Redir, ShellError> {
        let Some(Token {
            tok: Tok::Redir { fd, op },
            ..
        }) = self.peek().cloned()
        else {
            return Err(self.eof());
        };
        self.pos += 1;
        let default_fd = if matches!(op, RedirOp::In | RedirOp::Heredoc { .. }) {
            0
        } else {
            1
        };
        let fd = fd.unwrap_or(default_fd);
        if let RedirOp::Heredoc { body, expand } = op {
            return Ok(Redir {
                fd,
                kind: RedirKind::Heredoc { body, expand },
            });
        }
        let target = match self.peek() {
            Some(Token {
                tok: Tok::Word(p), ..
            }) => p.clone(),
            None => {
                return Err(ShellError {
                    line: self.toks.last().map(|t| t.line).unwrap_or(1),
                    msg: "syntax error near unexpected token `newline'".into(),
                    incomplete: false,
                })
            }
            Some(t) => return Err(self.unexpected(&t.clone())),
        };
        self.pos += 1;
        let w = self.word(target)?;
        let kind = match op {
            RedirOp::In => RedirKind::In(w),
            RedirOp::Out(append) => RedirKind::Out(w, append),
            _ => RedirKind::Dup(w),
        };
        Ok(Redir { fd, kind })
    }

    /// Turns lexed parts into a word, parsing command substitutions.
    fn word(&mut self, parts: Vec<LexPart>) -> Result<Word, ShellError> {
        parts
            .into_iter()
            .map(|p| {
                Ok(match p {
                    LexPart::Lit { text, quoted } => Part::Lit { text, quoted },
                    LexPart::Var { name, quoted } => Part::Var { name, quoted },
                    LexPart::Sub {
                        source,
                        line,
                        quoted,
                    } => {
                        let chars: Vec<char> = source.chars().collect();
                        let list = parse(&chars, line, self.depth + 1).map_err(|mut e| {
                            // An unfinished substitution is a finished one badly written.
                            e.incomplete = false;
                            e
                        })?;
                        Part::Sub { list, quoted }
                    }
                })
            })
            .collect()
    }
}

fn k_static(k: &str) -> &'static str {
    RESERVED.iter().copied().find(|r| *r == k).unwrap_or("")
}

/// A shell variable name.
pub fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f == '_' || f.is_ascii_alphabetic())
        && c.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `NAME=value` as a word's parts: the name and the value's parts.
fn split_assignment(parts: &[LexPart]) -> Option<(String, Vec<LexPart>)> {
    let LexPart::Lit {
        text,
        quoted: false,
    } = parts.first()?
    else {
        return None;
    };
    let (name, rest) = text.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let mut value = Vec::new();
    if !rest.is_empty() {
        value.push(LexPart::Lit {
            text: rest.to_string(),
            quoted: false,
        });
    }
    value.extend(parts[1..].iter().cloned());
    Some((name.to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<AndOr>, ShellError> {
        let c: Vec<char> = s.chars().collect();
        parse(&c, 1, 0)
    }

    #[test]
    fn for_if_and_lists() {
        let l = p("for i in a $X; do echo $i; done\nif [ -f x ]\nthen\nrm x\nelif true; then :; else echo no; fi\na && b || c | d\n").unwrap();
        assert_eq!(l.len(), 3);
        assert!(
            matches!(&l[0].first.cmds[0].kind, CmdKind::For { var, words: Some(w), body } if var == "i" && w.len() == 2 && body.len() == 1)
        );
        assert!(
            matches!(&l[1].first.cmds[0].kind, CmdKind::If { arms, otherwise: Some(_) } if arms.len() == 2)
        );
        assert_eq!(l[2].rest.len(), 2);
        assert_eq!(l[2].rest[1].1.cmds.len(), 2);
    }

    #[test]
    fn syntax_errors_read_like_bash() {
        let e = p("echo a\ndone\n").unwrap_err();
        assert_eq!(
            (e.line, e.msg.as_str(), e.incomplete),
            (2, "syntax error near unexpected token `done'", false)
        );
        let e = p("echo a; ;").unwrap_err();
        assert_eq!(e.msg, "syntax error near unexpected token `;'");
        let e = p("if then fi").unwrap_err();
        assert_eq!(e.msg, "syntax error near unexpected token `then'");
        for s in [
            "for i in a b\ndo\necho $i\n",
            "if true\nthen\n",
            "echo a |\n",
            "echo a &&\n",
        ] {
            let e = p(s).unwrap_err();
            assert!(e.incomplete, "{s}: {e:?}");
            assert_eq!(e.msg, "syntax error: unexpected end of file");
        }
        assert_eq!(p("for i in a b\ndo\necho $i\n").unwrap_err().line, 4);
        assert!(!p("while true; do :; done").unwrap_err().incomplete);
    }

    #[test]
    fn assignments_only_before_the_command_name() {
        let l = p("A=1 B=\"x y\" env C=2").unwrap();
        let CmdKind::Simple(s) = &l[0].first.cmds[0].kind else {
            panic!()
        };
        assert_eq!(s.assigns.len(), 2);
        assert_eq!(s.words.len(), 2);
    }
}
