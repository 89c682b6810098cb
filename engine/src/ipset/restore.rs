//! `ipset restore` (one command per line; add/del lines for the same set
//! are sent together and applied at the next other command, at `COMMIT` or
//! at the end; the first error ends the restore) and interactive mode
//! (`ipset -`).

use super::cmd::{Op, Problem, Session};
use super::types::Adt;

impl Session<'_> {
    /// Applies the pending add/del lines of a restore.
    fn commit(&mut self) -> Result<(), Problem> {
        let batch = std::mem::take(&mut self.batch);
        for (line, adt, set, e, ext, exist) in batch {
            if let Err(k) = self.apply_adt(adt, &set, &e, &ext, exist) {
                self.line = line;
                return Err(Problem::Session(k.message(adt.name()).to_string()));
            }
        }
        Ok(())
    }

    /// `ipset restore`: one command per line; add/del lines for the same
    /// set are sent together and applied at the next other command, at
    /// `COMMIT` or at the end; the first error ends the restore.
    pub(super) fn restore(&mut self, stdin: &str) {
        let text = match &self.env.file {
            Some(f) => match self.host.files.get(f) {
                Some(t) => t.clone(),
                None => {
                    self.fail(Problem::Session(format!(
                        "Cannot open {f} for reading: No such file or directory"
                    )));
                    return;
                }
            },
            None => stdin.to_string(),
        };
        self.env.file = None;
        let mut lineno = 0;
        for raw in text.split_inclusive('\n') {
            lineno += 1;
            let l = raw.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if raw.trim_start() == "COMMIT\n" || raw.trim_start() == "COMMIT\r\n" {
                if let Err(p) = self.commit() {
                    self.fail(p);
                    return;
                }
                continue;
            }
            self.line = lineno;
            let mut argv = vec!["ipset".to_string()];
            argv.extend(split_line(l));
            let op = match self.parse(&argv) {
                Ok(op) => op,
                Err(p) => {
                    self.fail(p);
                    return;
                }
            };
            let res = match op {
                Op::Adt {
                    adt,
                    set,
                    elem,
                    ext,
                    shown,
                } if adt != Adt::Test => {
                    let same = self.batch.last().is_some_and(|b| b.1 == adt && b.2 == set);
                    let r = if same { Ok(()) } else { self.commit() };
                    let _ = shown;
                    self.batch
                        .push((lineno, adt, set, elem, ext, self.env.exist));
                    r
                }
                op => {
                    let test = matches!(op, Op::Adt { .. });
                    let r = self.commit().and_then(|_| {
                        self.line = lineno;
                        self.exec(op)
                    });
                    if r.is_ok() && test {
                        // A test answer ends the restore, as ipset exits after reporting it.
                        return;
                    }
                    r
                }
            };
            if let Err(p) = res {
                self.fail(p);
                return;
            }
        }
        if let Err(p) = self.commit() {
            self.fail(p);
        }
    }

    /// `ipset -`: runs each line of standard input after a prompt; errors
    /// are reported and the next line runs; `quit` ends early.
    pub(super) fn interactive(&mut self, stdin: &str) {
        self.interactive = true;
        self.out.stdout.push_str("ipset> ");
        for raw in stdin.split_inclusive('\n') {
            let l = raw.trim_start();
            if l.is_empty() || l.starts_with('#') {
                self.out.stdout.push_str("ipset> ");
            } else {
                let mut argv = vec!["ipset".to_string()];
                argv.extend(split_line(l));
                match self.parse(&argv) {
                    Ok(Op::Quit) => {
                        self.out.exit = 0;
                        return;
                    }
                    Ok(op) => {
                        if let Err(p) = self.exec(op) {
                            self.fail(p);
                        }
                    }
                    Err(p) => self.fail(p),
                }
            }
            self.out.stdout.push_str("ipset> ");
        }
        self.out.exit = 0;
    }
}

/// The words of a restore line: double quotes group, unclosed quotes drop the word.
fn split_line(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' | '\r' | '\n' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() && !quoted {
        words.push(cur);
    }
    words
}
