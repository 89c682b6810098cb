//! Word expansion: `$NAME`, `${NAME}`, `$?`, command substitution, and
//! field splitting of unquoted results on blanks and newlines (no globbing:
//! `*` stays a literal character).

use super::exec::{Exit, Shell};
use super::parse::{AndOr, Part, Word};
use super::{Stream, MAX_FIELDS, MAX_SUBST_DEPTH, MAX_TEXT};

fn is_ifs(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n')
}

impl Shell<'_> {
    /// The value of a parameter (unset ones are empty).
    pub fn param(&self, name: &str) -> String {
        match name {
            "?" => self.status.to_string(),
            "#" => "0".into(),
            "$" => "4242".into(),
            "0" => "bash".into(),
            "-" => "hB".into(),
            _ => self.vars.get(name).cloned().unwrap_or_default(),
        }
    }

    /// A word as fields (unquoted expansions split; an empty unquoted result makes none).
    pub fn expand_fields(&mut self, w: &Word) -> Result<Vec<String>, Exit> {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut has = false;
        for p in w {
            let (value, quoted) = match p {
                Part::Lit { text, quoted } => {
                    cur.push_str(text);
                    has |= *quoted || !text.is_empty();
                    continue;
                }
                Part::Var { name, quoted } => (self.param(name), *quoted),
                Part::Sub { list, quoted } => (self.substitute(list)?, *quoted),
            };
            if quoted {
                cur.push_str(&value);
                has = true;
                continue;
            }
            for c in value.chars() {
                if is_ifs(c) {
                    if has {
                        fields.push(std::mem::take(&mut cur));
                        has = false;
                    }
                } else {
                    cur.push(c);
                    has = true;
                }
            }
            if fields.len() > MAX_FIELDS {
                return Err(self.limit("a word expands to too many words"));
            }
        }
        if has {
            fields.push(cur);
        }
        Ok(fields)
    }

    /// Words as fields, all of them.
    pub fn expand_words(&mut self, ws: &[Word]) -> Result<Vec<String>, Exit> {
        let mut out = Vec::new();
        for w in ws {
            out.extend(self.expand_fields(w)?);
            if out.len() > MAX_FIELDS {
                return Err(self.limit("a command expands to too many words"));
            }
        }
        Ok(out)
    }

    /// A word as one string (assignments, redirection targets): no splitting.
    pub fn expand_string(&mut self, w: &Word) -> Result<String, Exit> {
        let mut out = String::new();
        for p in w {
            match p {
                Part::Lit { text, .. } => out.push_str(text),
                Part::Var { name, .. } => out.push_str(&self.param(name)),
                Part::Sub { list, .. } => {
                    let v = self.substitute(list)?;
                    out.push_str(&v);
                }
            }
            if out.len() > MAX_TEXT {
                return Err(self.limit("a value is too large"));
            }
        }
        Ok(out)
    }

    /// `$(...)`: runs the commands with a copy of the variables, returns
    /// their standard output without its trailing newlines.
    pub fn substitute(&mut self, list: &[AndOr]) -> Result<String, Exit> {
        if self.subst_depth >= MAX_SUBST_DEPTH {
            return Err(self.limit("command substitutions nested too deeply"));
        }
        self.subst_depth += 1;
        let saved_vars = self.vars.clone();
        let saved_stdin = self.stdin.take();
        self.push_frame(false);
        let r = self.run_list(list);
        let frame = self.pop_frame();
        self.subst_depth -= 1;
        *self.vars = saved_vars;
        self.stdin = saved_stdin;
        let status = match r {
            Ok(s) => s,
            Err(Exit::Status(s)) => s,
            Err(e @ Exit::Limit(_)) => return Err(e),
        };
        // `$?` right after a substitution is its status (bash).
        self.status = status;
        self.sub_status = Some(status);
        let mut out = frame.out;
        let keep = out.trim_end_matches('\n').len();
        out.truncate(keep);
        Ok(out)
    }

    /// Expands `$NAME`, `${NAME}` and `$?` in a here-document body (`\$` keeps a dollar).
    pub fn expand_heredoc(&self, body: &str) -> String {
        let chars: Vec<char> = body.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' && matches!(chars.get(i + 1), Some('$' | '\\' | '`')) {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c != '$' {
                out.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('{') => {
                    if let Some(len) = chars[i + 2..].iter().position(|c| *c == '}') {
                        let name: String = chars[i + 2..i + 2 + len].iter().collect();
                        out.push_str(&self.param(&name));
                        i += len + 3;
                        continue;
                    }
                }
                Some(&n) if n == '?' || n == '#' => {
                    out.push_str(&self.param(&n.to_string()));
                    i += 2;
                    continue;
                }
                Some(&n) if n == '_' || n.is_ascii_alphabetic() => {
                    let mut j = i + 1;
                    while chars
                        .get(j)
                        .is_some_and(|c| *c == '_' || c.is_ascii_alphanumeric())
                    {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(&self.param(&name));
                    i = j;
                    continue;
                }
                _ => {}
            }
            out.push('$');
            i += 1;
        }
        out
    }

    /// Reports a limit and stops the script.
    pub fn limit(&mut self, what: &str) -> Exit {
        let msg = format!(
            "{}{what} (the playground stops the script here)\n",
            self.prefix()
        );
        self.emit(Stream::Err, &msg);
        Exit::Limit(1)
    }
}
