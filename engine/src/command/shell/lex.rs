//! Shell tokens: words with their quoting and expansions, operators,
//! redirections, newlines, comments, line continuations and here-document
//! bodies (read after the line that names them, as bash does).

use super::ShellError;

/// A piece of a word as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexPart {
    /// Literal text; `quoted` text is never split into fields.
    Lit { text: String, quoted: bool },
    /// `$NAME`, `${NAME}`, `$?` …
    Var { name: String, quoted: bool },
    /// `$(...)` or `` `...` ``: the inner source and the line it starts on.
    Sub {
        source: String,
        line: usize,
        quoted: bool,
    },
}

/// Operators between commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Semi,
    DoubleSemi,
    And,
    Or,
    Pipe,
    Amp,
    LParen,
    RParen,
    Newline,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::Semi => ";",
            Op::DoubleSemi => ";;",
            Op::And => "&&",
            Op::Or => "||",
            Op::Pipe => "|",
            Op::Amp => "&",
            Op::LParen => "(",
            Op::RParen => ")",
            Op::Newline => "newline",
        }
    }
}

/// What a redirection operator does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirOp {
    /// `<`
    In,
    /// `>` (false) or `>>` (true)
    Out(bool),
    /// `>&N` / `<&N` (the target descriptor is the next word)
    Dup,
    /// `<<` / `<<-`: the body, and whether `$` expansions apply (unquoted delimiter).
    Heredoc { body: String, expand: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(Vec<LexPart>),
    Op(Op),
    Redir { fd: Option<u32>, op: RedirOp },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    /// Char offsets of the token in the source.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token as bash names it in `near unexpected token` messages.
    pub fn shown(&self, src: &[char]) -> String {
        match &self.tok {
            Tok::Op(o) => o.text().to_string(),
            _ => src[self.start..self.end].iter().collect(),
        }
    }
}

struct PendingDoc {
    token: usize,
    delim: String,
    strip: bool,
    expand: bool,
    line: usize,
}

struct Lexer<'a> {
    s: &'a [char],
    pos: usize,
    line: usize,
    toks: Vec<Token>,
    docs: Vec<PendingDoc>,
}

fn err(line: usize, msg: impl Into<String>, incomplete: bool) -> ShellError {
    ShellError {
        line,
        msg: msg.into(),
        incomplete,
    }
}

/// Splits source text into tokens; `first_line` numbers its first line.
pub fn lex(s: &[char], first_line: usize) -> Result<Vec<Token>, ShellError> {
    let mut lx = Lexer {
        s,
        pos: 0,
        line: first_line,
        toks: Vec::new(),
        docs: Vec::new(),
    };
    lx.run()?;
    Ok(lx.toks)
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.pos + k).copied()
    }

    /// The text up to `close` (consumed, not returned), counting lines;
    /// `None` at the end of the input.
    fn take_until(&mut self, close: char) -> Option<String> {
        let mut text = String::new();
        loop {
            let c = self.peek(0)?;
            self.pos += 1;
            if c == close {
                return Some(text);
            }
            if c == '\n' {
                self.line += 1;
            }
            text.push(c);
        }
    }

    fn push(&mut self, tok: Tok, start: usize, line: usize) {
        self.toks.push(Token {
            tok,
            line,
            start,
            end: self.pos,
        });
    }

    fn run(&mut self) -> Result<(), ShellError> {
        while let Some(c) = self.peek(0) {
            let start = self.pos;
            let line = self.line;
            match c {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\\' if self.peek(1) == Some('\n') => {
                    self.pos += 2;
                    self.line += 1;
                }
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\n' => {
                    self.pos += 1;
                    self.push(Tok::Op(Op::Newline), start, line);
                    self.line += 1;
                    self.read_heredocs()?;
                }
                ';' | '&' | '|' | '(' | ')' => {
                    let two = self.peek(1);
                    let op = match (c, two) {
                        (';', Some(';')) => Op::DoubleSemi,
                        ('&', Some('&')) => Op::And,
                        ('|', Some('|')) => Op::Or,
                        (';', _) => Op::Semi,
                        ('&', _) => Op::Amp,
                        ('|', _) => Op::Pipe,
                        ('(', _) => Op::LParen,
                        _ => Op::RParen,
                    };
                    self.pos += if matches!(op, Op::DoubleSemi | Op::And | Op::Or) {
                        2
                    } else {
                        1
                    };
                    self.push(Tok::Op(op), start, line);
                }
                '<' | '>' => self.redirect(None, start)?,
                _ => self.word()?,
            }
        }
        if let Some(d) = self.docs.first() {
            return Err(err(
                d.line,
                format!(
                    "here-document at line {} delimited by end-of-file (wanted `{}')",
                    d.line, d.delim
                ),
                true,
            ));
        }
        Ok(())
    }

    /// A redirection operator at the current position (`fd` written before it).
    fn redirect(&mut self, fd: Option<u32>, start: usize) -> Result<(), ShellError> {
        let line = self.line;
        let c = self.peek(0).unwrap_or('>');
        self.pos += 1;
        let op = if c == '<' {
            if self.peek(0) == Some('<') {
                self.pos += 1;
                let strip = self.peek(0) == Some('-');
                if strip {
                    self.pos += 1;
                }
                return self.heredoc(fd, strip, start);
            }
            if self.peek(0) == Some('&') {
                self.pos += 1;
                RedirOp::Dup
            } else {
                RedirOp::In
            }
        } else if self.peek(0) == Some('>') {
            self.pos += 1;
            RedirOp::Out(true)
        } else if self.peek(0) == Some('&') {
            self.pos += 1;
            RedirOp::Dup
        } else {
            if self.peek(0) == Some('|') {
                self.pos += 1;
            }
            RedirOp::Out(false)
        };
        self.push(Tok::Redir { fd, op }, start, line);
        Ok(())
    }

    /// `<<WORD`: reads the delimiter now, the body after the end of the line.
    fn heredoc(&mut self, fd: Option<u32>, strip: bool, start: usize) -> Result<(), ShellError> {
        let line = self.line;
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.pos += 1;
        }
        let mut delim = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\'' | '"' => {
                    quoted = true;
                    self.pos += 1;
                    while let Some(d) = self.peek(0) {
                        self.pos += 1;
                        if d == c {
                            break;
                        }
                        delim.push(d);
                    }
                }
                '\\' => {
                    quoted = true;
                    self.pos += 1;
                    if let Some(d) = self.peek(0) {
                        delim.push(d);
                        self.pos += 1;
                    }
                }
                _ => {
                    delim.push(c);
                    self.pos += 1;
                }
            }
        }
        if delim.is_empty() {
            let shown = match self.peek(0) {
                None | Some('\n') => "newline".to_string(),
                Some(c) => c.to_string(),
            };
            return Err(err(
                line,
                format!("syntax error near unexpected token `{shown}'"),
                false,
            ));
        }
        self.push(
            Tok::Redir {
                fd,
                op: RedirOp::Heredoc {
                    body: String::new(),
                    expand: !quoted,
                },
            },
            start,
            line,
        );
        self.docs.push(PendingDoc {
            token: self.toks.len() - 1,
            delim,
            strip,
            expand: !quoted,
            line,
        });
        Ok(())
    }

    /// Reads the bodies of the here-documents named on the line just ended.
    fn read_heredocs(&mut self) -> Result<(), ShellError> {
        let docs = std::mem::take(&mut self.docs);
        for d in &docs {
            let mut body = String::new();
            let mut found = false;
            while self.pos < self.s.len() {
                let mut l = String::new();
                while let Some(c) = self.peek(0) {
                    self.pos += 1;
                    if c == '\n' {
                        break;
                    }
                    l.push(c);
                }
                self.line += 1;
                let l = if d.strip {
                    l.trim_start_matches('\t').to_string()
                } else {
                    l
                };
                if l.trim_end_matches('\r') == d.delim {
                    found = true;
                    break;
                }
                body.push_str(&l);
                body.push('\n');
            }
            if !found {
                return Err(err(
                    d.line,
                    format!(
                        "here-document at line {} delimited by end-of-file (wanted `{}')",
                        d.line, d.delim
                    ),
                    true,
                ));
            }
            if let Some(Token {
                tok: Tok::Redir { op, .. },
                ..
            }) = self.toks.get_mut(d.token)
            {
                *op = RedirOp::Heredoc {
                    body,
                    expand: d.expand,
                };
            }
        }
        Ok(())
    }

    /// A word: literal characters, quotes, escapes and expansions.
    fn word(&mut self) -> Result<(), ShellError> {
        let start = self.pos;
        let line = self.line;
        let mut parts: Vec<LexPart> = Vec::new();
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' => break,
                '<' | '>' => {
                    // `2>` / `2>&1`: a word of digits right before is a descriptor.
                    let digits: Option<u32> = match parts.as_slice() {
                        [LexPart::Lit {
                            text,
                            quoted: false,
                        }] if !text.is_empty() && text.chars().all(|d| d.is_ascii_digit()) => {
                            text.parse().ok()
                        }
                        _ => None,
                    };
                    if let Some(fd) = digits {
                        return self.redirect(Some(fd), start);
                    }
                    break;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek(0) {
                        Some('\n') => {
                            self.pos += 1;
                            self.line += 1;
                        }
                        Some(d) => {
                            self.pos += 1;
                            lit(&mut parts, d, true);
                        }
                        None => lit(&mut parts, '\\', false),
                    }
                }
                '\'' => {
                    let qline = self.line;
                    self.pos += 1;
                    let text = self.take_until('\'').ok_or_else(|| {
                        err(qline, "unexpected EOF while looking for matching `''", true)
                    })?;
                    parts.push(LexPart::Lit { text, quoted: true });
                }
                '"' => {
                    let qline = self.line;
                    self.pos += 1;
                    // `""` is an empty quoted field.
                    parts.push(LexPart::Lit {
                        text: String::new(),
                        quoted: true,
                    });
                    loop {
                        match self.peek(0) {
                            None => {
                                return Err(err(
                                    qline,
                                    "unexpected EOF while looking for matching `\"'",
                                    true,
                                ))
                            }
                            Some('"') => {
                                self.pos += 1;
                                break;
                            }
                            Some('\\') => {
                                self.pos += 1;
                                match self.peek(0) {
                                    Some('\n') => {
                                        self.pos += 1;
                                        self.line += 1;
                                    }
                                    Some(d) if "$`\"\\".contains(d) => {
                                        self.pos += 1;
                                        lit(&mut parts, d, true);
                                    }
                                    _ => lit(&mut parts, '\\', true),
                                }
                            }
                            Some('$') => self.dollar(&mut parts, true)?,
                            Some('`') => self.backquote(&mut parts, true)?,
                            Some(d) => {
                                if d == '\n' {
                                    self.line += 1;
                                }
                                self.pos += 1;
                                lit(&mut parts, d, true);
                            }
                        }
                    }
                }
                '$' => self.dollar(&mut parts, false)?,
                '`' => self.backquote(&mut parts, false)?,
                _ => {
                    self.pos += 1;
                    lit(&mut parts, c, false);
                }
            }
        }
        self.push(Tok::Word(parts), start, line);
        Ok(())
    }

    /// `$...` at the current position.
    fn dollar(&mut self, parts: &mut Vec<LexPart>, quoted: bool) -> Result<(), ShellError> {
        let line = self.line;
        self.pos += 1;
        match self.peek(0) {
            Some('(') => {
                if self.peek(1) == Some('(') {
                    return Err(err(
                        line,
                        "arithmetic expansion $((...)) is not supported by this shell",
                        false,
                    ));
                }
                self.pos += 1;
                let inner_line = self.line;
                let source = self.until_paren(line)?;
                parts.push(LexPart::Sub {
                    source,
                    line: inner_line,
                    quoted,
                });
            }
            Some('{') => {
                self.pos += 1;
                let name = self.take_until('}').ok_or_else(|| {
                    err(line, "unexpected EOF while looking for matching `}'", true)
                })?;
                if !valid_param(&name) {
                    return Err(err(line, format!("${{{name}}}: bad substitution"), false));
                }
                parts.push(LexPart::Var { name, quoted });
            }
            Some(c) if "?#$!@*-0123456789".contains(c) => {
                self.pos += 1;
                parts.push(LexPart::Var {
                    name: c.to_string(),
                    quoted,
                });
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek(0)
                    .filter(|c| *c == '_' || c.is_ascii_alphanumeric())
                {
                    name.push(c);
                    self.pos += 1;
                }
                parts.push(LexPart::Var { name, quoted });
            }
            _ => lit(parts, '$', quoted),
        }
        Ok(())
    }

    /// The source of `$( ... )` up to its closing parenthesis (consumed).
    fn until_paren(&mut self, line: usize) -> Result<String, ShellError> {
        let mut depth = 1usize;
        let mut out = String::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(err(
                    line,
                    "unexpected EOF while looking for matching `)'",
                    true,
                ));
            };
            self.pos += 1;
            if c == '\n' {
                self.line += 1;
            }
            match quote {
                Some(q) => {
                    if c == '\\' && q == '"' {
                        out.push(c);
                        if let Some(d) = self.peek(0) {
                            out.push(d);
                            self.pos += 1;
                        }
                        continue;
                    }
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '\\' => {
                        out.push(c);
                        if let Some(d) = self.peek(0) {
                            out.push(d);
                            self.pos += 1;
                        }
                        continue;
                    }
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                },
            }
            out.push(c);
        }
    }

    /// `` `...` ``: backslash keeps its meaning only before `$`, `` ` `` and `\`.
    fn backquote(&mut self, parts: &mut Vec<LexPart>, quoted: bool) -> Result<(), ShellError> {
        let line = self.line;
        self.pos += 1;
        let mut source = String::new();
        loop {
            match self.peek(0) {
                None => {
                    return Err(err(
                        line,
                        "unexpected EOF while looking for matching ``'",
                        true,
                    ))
                }
                Some('`') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') if matches!(self.peek(1), Some('$' | '`' | '\\')) => {
                    source.push(self.peek(1).unwrap_or('\\'));
                    self.pos += 2;
                }
                Some(c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    source.push(c);
                    self.pos += 1;
                }
            }
        }
        parts.push(LexPart::Sub {
            source,
            line,
            quoted,
        });
        Ok(())
    }
}

/// Appends a literal character, merging with the previous literal of the same quoting.
fn lit(parts: &mut Vec<LexPart>, c: char, quoted: bool) {
    if let Some(LexPart::Lit { text, quoted: q }) = parts.last_mut() {
        if *q == quoted {
            text.push(c);
            return;
        }
    }
    parts.push(LexPart::Lit {
        text: c.to_string(),
        quoted,
    });
}

/// A name `${...}` accepts: a variable name or one special parameter.
fn valid_param(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {
            chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        Some(c) if "?#$!@*-".contains(c) => name.len() == 1,
        Some(c) if c.is_ascii_digit() => name.chars().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let c: Vec<char> = s.chars().collect();
        lex(&c, 1).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_quotes_and_expansions() {
        let t = toks("echo \"a $X\"'b' ${Y}z $(cat f) `cat g` # c\n");
        assert_eq!(t.len(), 6);
        match &t[1] {
            Tok::Word(p) => {
                assert_eq!(
                    p[1],
                    LexPart::Var {
                        name: "X".into(),
                        quoted: true
                    }
                );
                assert_eq!(
                    p[2],
                    LexPart::Lit {
                        text: "b".into(),
                        quoted: true
                    }
                );
            }
            o => panic!("{o:?}"),
        }
        assert!(
            matches!(&t[3], Tok::Word(p) if matches!(&p[0], LexPart::Sub { source, .. } if source == "cat f"))
        );
        assert!(
            matches!(&t[4], Tok::Word(p) if matches!(&p[0], LexPart::Sub { source, .. } if source == "cat g"))
        );
        assert_eq!(t[5], Tok::Op(Op::Newline));
    }

    #[test]
    fn redirections_and_heredocs() {
        let t = toks("cat <<EOF 2>&1 >>f\n$A\nEOF\n");
        assert!(
            matches!(&t[1], Tok::Redir { op: RedirOp::Heredoc { body, expand: true }, .. } if body == "$A\n")
        );
        assert!(matches!(
            &t[2],
            Tok::Redir {
                fd: Some(2),
                op: RedirOp::Dup
            }
        ));
        assert!(matches!(
            &t[4],
            Tok::Redir {
                fd: None,
                op: RedirOp::Out(true)
            }
        ));
    }

    #[test]
    fn unfinished_input_is_incomplete() {
        for s in [
            "echo 'a",
            "echo \"a",
            "cat <<EOF\nx\n",
            "echo $(cat",
            "echo `cat",
        ] {
            let c: Vec<char> = s.chars().collect();
            assert!(lex(&c, 1).unwrap_err().incomplete, "{s}");
        }
    }
}
