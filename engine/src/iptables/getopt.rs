//! glibc `getopt_long` as iptables calls it: optstring starting with `-`
//! (non-options returned in order as code 1), bundled short options,
//! unambiguous long-option prefixes, `opterr = 0`.

use crate::ext::HasArg;

/// One entry of the long option table.
#[derive(Debug, Clone, Copy)]
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: HasArg,
    /// Opaque code returned for this option.
    pub code: u32,
}

/// A long option table, searched in order (glibc's `longopts` array).
pub trait Longs {
    /// Calls `f` with each option in table order until it returns `true`.
    fn each(&self, f: &mut dyn FnMut(LongOpt) -> bool);
}

impl Longs for [LongOpt] {
    fn each(&self, f: &mut dyn FnMut(LongOpt) -> bool) {
        for o in self {
            if f(*o) {
                return;
            }
        }
    }
}

/// What one call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got<'a> {
    /// A short option char, or a long option's code.
    Opt { code: u32, arg: Option<&'a str> },
    /// A non-option word (code 1).
    Word(&'a str),
    /// Unknown option (`?`); `optopt` is set for an unknown short char.
    Unknown { optopt: Option<char> },
    /// Missing required argument (`:`).
    MissingArg,
    /// End of options.
    End,
}

/// Code returned for short options: the char itself.
pub fn short_code(c: char) -> u32 {
    c as u32
}

pub struct Getopt<'a> {
    pub argv: &'a [String],
    /// Index of the next argv element, as glibc's `optind` (argv[0] is the program).
    pub optind: usize,
    nextchar: usize,
    shorts: &'a str,
}

impl<'a> Getopt<'a> {
    pub fn new(argv: &'a [String], shorts: &'a str) -> Self {
        Getopt {
            argv,
            optind: 1,
            nextchar: 0,
            shorts,
        }
    }

    fn short_spec(&self, c: char) -> Option<HasArg> {
        let s = self.shorts;
        let idx = s.find(c)?;
        if c == ':' || c == '-' {
            return None;
        }
        let rest = &s[idx + c.len_utf8()..];
        Some(if rest.starts_with("::") {
            HasArg::Optional
        } else if rest.starts_with(':') {
            HasArg::Required
        } else {
            HasArg::No
        })
    }

    pub fn next<L: Longs + ?Sized>(&mut self, longs: &L) -> Got<'a> {
        let argv = self.argv;
        if self.nextchar == 0 {
            if self.optind >= self.argv.len() {
                return Got::End;
            }
            let arg = &argv[self.optind];
            if arg == "--" {
                // glibc leaves optind at the first word after `--`.
                self.optind += 1;
                return Got::End;
            }
            if !arg.starts_with('-') || arg.len() == 1 {
                self.optind += 1;
                return Got::Word(arg);
            }
            if let Some(body) = arg.strip_prefix("--") {
                self.optind += 1;
                return self.long(body, longs);
            }
            self.nextchar = 1;
        }
        let arg = &argv[self.optind];
        let c = arg[self.nextchar..].chars().next().unwrap_or('?');
        self.nextchar += c.len_utf8();
        let at_end = self.nextchar >= arg.len();
        let spec = self.short_spec(c);
        match spec {
            None => {
                if at_end {
                    self.optind += 1;
                    self.nextchar = 0;
                }
                Got::Unknown { optopt: Some(c) }
            }
            Some(HasArg::No) => {
                if at_end {
                    self.optind += 1;
                    self.nextchar = 0;
                }
                Got::Opt {
                    code: short_code(c),
                    arg: None,
                }
            }
            Some(HasArg::Optional) => {
                let optarg = if at_end {
                    None
                } else {
                    Some(&arg[self.nextchar..])
                };
                self.optind += 1;
                self.nextchar = 0;
                Got::Opt {
                    code: short_code(c),
                    arg: optarg,
                }
            }
            Some(HasArg::Required) => {
                let optarg = if !at_end {
                    let v = &arg[self.nextchar..];
                    self.optind += 1;
                    Some(v)
                } else if self.optind + 1 < argv.len() {
                    let v = argv[self.optind + 1].as_str();
                    self.optind += 2;
                    Some(v)
                } else {
                    self.optind += 1;
                    None
                };
                self.nextchar = 0;
                match optarg {
                    Some(a) => Got::Opt {
                        code: short_code(c),
                        arg: Some(a),
                    },
                    None => Got::MissingArg,
                }
            }
        }
    }

    fn long<L: Longs + ?Sized>(&mut self, body: &'a str, longs: &L) -> Got<'a> {
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let mut found = None;
        longs.each(&mut |o| {
            let hit = o.name == name;
            if hit {
                found = Some(o);
            }
            hit
        });
        if found.is_none() {
            // An unambiguous prefix: every option it starts behaves alike.
            let mut first: Option<LongOpt> = None;
            let mut ambiguous = false;
            longs.each(&mut |o| {
                if o.name.starts_with(name) {
                    match first {
                        None => first = Some(o),
                        Some(f) => ambiguous |= o.has_arg != f.has_arg || o.code != f.code,
                    }
                }
                false
            });
            found = first.filter(|_| !ambiguous);
        }
        let Some(opt) = found else {
            return Got::Unknown { optopt: None };
        };
        match opt.has_arg {
            HasArg::No => {
                if inline.is_some() {
                    return Got::Unknown { optopt: None };
                }
                Got::Opt {
                    code: opt.code,
                    arg: None,
                }
            }
            HasArg::Optional => Got::Opt {
                code: opt.code,
                arg: inline,
            },
            HasArg::Required => {
                if let Some(v) = inline {
                    return Got::Opt {
                        code: opt.code,
                        arg: Some(v),
                    };
                }
                if self.optind < self.argv.len() {
                    let v = self.argv[self.optind].as_str();
                    self.optind += 1;
                    Got::Opt {
                        code: opt.code,
                        arg: Some(v),
                    }
                } else {
                    Got::MissingArg
                }
            }
        }
    }
}

/// One result of [`Permute::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Opt(char, Option<String>),
    /// glibc's complaint (`opterr = 1`), already formatted with its newline.
    Error(String),
}

/// glibc `getopt_long` in its default (permuting) mode with `opterr = 1`,
/// as iptables-save and iptables-restore use it: options in order, the
/// other words collected for after the options.
pub struct Permute<'a> {
    argv: &'a [String],
    shorts: &'a str,
    longs: &'a [(&'a str, HasArg, char)],
    prog: &'a str,
    pub optind: usize,
    nextchar: usize,
    /// Words that are not options, in order.
    pub words: Vec<String>,
    done: bool,
}

impl<'a> Permute<'a> {
    pub fn new(
        argv: &'a [String],
        shorts: &'a str,
        longs: &'a [(&'a str, HasArg, char)],
    ) -> Permute<'a> {
        Permute {
            argv,
            shorts,
            longs,
            prog: argv.first().map(String::as_str).unwrap_or(""),
            optind: 1,
            nextchar: 0,
            words: Vec::new(),
            done: false,
        }
    }

    /// Consumes the next word if it is an argument (`xs_has_arg`).
    pub fn take_word(&mut self) -> Option<String> {
        let w = self.argv.get(self.optind)?;
        if w.starts_with('-') || w.starts_with('!') {
            return None;
        }
        self.optind += 1;
        Some(w.clone())
    }

    fn short_spec(&self, c: char) -> Option<HasArg> {
        if c == ':' {
            return None;
        }
        let idx = self.shorts.find(c)?;
        let rest = &self.shorts[idx + c.len_utf8()..];
        Some(if rest.starts_with("::") {
            HasArg::Optional
        } else if rest.starts_with(':') {
            HasArg::Required
        } else {
            HasArg::No
        })
    }

    pub fn next_item(&mut self) -> Option<Item> {
        if self.nextchar == 0 {
            loop {
                if self.done || self.optind >= self.argv.len() {
                    self.done = true;
                    self.words.extend(
                        self.argv[self.optind.min(self.argv.len())..]
                            .iter()
                            .cloned(),
                    );
                    self.optind = self.argv.len();
                    return None;
                }
                let arg = &self.argv[self.optind];
                if arg == "--" {
                    self.optind += 1;
                    self.done = true;
                    continue;
                }
                if !arg.starts_with('-') || arg.len() == 1 {
                    self.words.push(arg.clone());
                    self.optind += 1;
                    continue;
                }
                break;
            }
            let arg = self.argv[self.optind].clone();
            if let Some(body) = arg.strip_prefix("--") {
                self.optind += 1;
                return Some(self.long(body));
            }
            self.nextchar = 1;
        }
        let arg = &self.argv[self.optind];
        let c = arg[self.nextchar..].chars().next().unwrap_or('?');
        self.nextchar += c.len_utf8();
        let at_end = self.nextchar >= arg.len();
        let rest = arg[self.nextchar..].to_string();
        if at_end {
            self.optind += 1;
            self.nextchar = 0;
        }
        match self.short_spec(c) {
            None => Some(Item::Error(format!(
                "{}: invalid option -- '{c}'\n",
                self.prog
            ))),
            Some(HasArg::No) => Some(Item::Opt(c, None)),
            Some(HasArg::Optional) => {
                if !at_end {
                    self.optind += 1;
                    self.nextchar = 0;
                    Some(Item::Opt(c, Some(rest)))
                } else {
                    Some(Item::Opt(c, None))
                }
            }
            Some(HasArg::Required) => {
                if !at_end {
                    self.optind += 1;
                    self.nextchar = 0;
                    return Some(Item::Opt(c, Some(rest)));
                }
                match self.argv.get(self.optind) {
                    Some(v) => {
                        self.optind += 1;
                        Some(Item::Opt(c, Some(v.clone())))
                    }
                    None => Some(Item::Error(format!(
                        "{}: option requires an argument -- '{c}'\n",
                        self.prog
                    ))),
                }
            }
        }
    }

    fn long(&mut self, body: &str) -> Item {
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let exact = self.longs.iter().find(|o| o.0 == name);
        let found = match exact {
            Some(o) => *o,
            None => {
                let cands: Vec<&(&str, HasArg, char)> = self
                    .longs
                    .iter()
                    .filter(|o| o.0.starts_with(name))
                    .collect();
                match cands.as_slice() {
                    [] => {
                        return Item::Error(format!(
                            "{}: unrecognized option '--{name}'\n",
                            self.prog
                        ))
                    }
                    [one] => **one,
                    many => {
                        let first = many[0];
                        if many.iter().all(|o| o.1 == first.1 && o.2 == first.2) {
                            *first
                        } else {
                            let list: String =
                                many.iter().map(|o| format!(" '--{}'", o.0)).collect();
                            return Item::Error(format!(
                                "{}: option '--{name}' is ambiguous; possibilities:{list}\n",
                                self.prog
                            ));
                        }
                    }
                }
            }
        };
        match found.1 {
            HasArg::No if inline.is_some() => Item::Error(format!(
                "{}: option '--{}' doesn't allow an argument\n",
                self.prog, found.0
            )),
            HasArg::No | HasArg::Optional => Item::Opt(found.2, inline),
            HasArg::Required => match inline {
                Some(v) => Item::Opt(found.2, Some(v)),
                None => match self.argv.get(self.optind) {
                    Some(v) => {
                        self.optind += 1;
                        Item::Opt(found.2, Some(v.clone()))
                    }
                    None => Item::Error(format!(
                        "{}: option '--{}' requires an argument\n",
                        self.prog, found.0
                    )),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LONGS: &[LongOpt] = &[];

    fn argv(s: &str) -> Vec<String> {
        std::iter::once("iptables")
            .chain(s.split(' '))
            .map(String::from)
            .collect()
    }

    #[test]
    fn bundled_short_with_optional_arg() {
        let a = argv("-Lvn");
        let mut g = Getopt::new(&a, "-:A:L::vn");
        assert_eq!(
            g.next(NO_LONGS),
            Got::Opt {
                code: 'L' as u32,
                arg: Some("vn")
            }
        );
        assert_eq!(g.next(NO_LONGS), Got::End);
    }

    #[test]
    fn bundled_flags_then_required() {
        let a = argv("-vnA INPUT x");
        let mut g = Getopt::new(&a, "-:A:vn");
        assert!(matches!(g.next(NO_LONGS), Got::Opt { code, .. } if code == 'v' as u32));
        assert!(matches!(g.next(NO_LONGS), Got::Opt { code, .. } if code == 'n' as u32));
        assert_eq!(
            g.next(NO_LONGS),
            Got::Opt {
                code: 'A' as u32,
                arg: Some("INPUT")
            }
        );
        assert_eq!(g.next(NO_LONGS), Got::Word("x"));
    }

    #[test]
    fn long_prefixes() {
        let longs = [
            LongOpt {
                name: "dport",
                has_arg: HasArg::Required,
                code: 100,
            },
            LongOpt {
                name: "dports",
                has_arg: HasArg::Required,
                code: 101,
            },
        ];
        let a = argv("--dport 22 --dpo 1 --dports 1,2");
        let mut g = Getopt::new(&a, "-");
        assert_eq!(
            g.next(&longs[..]),
            Got::Opt {
                code: 100,
                arg: Some("22")
            }
        );
        assert_eq!(g.next(&longs[..]), Got::Unknown { optopt: None });
        assert_eq!(g.next(&longs[..]), Got::Word("1"));
        assert_eq!(
            g.next(&longs[..]),
            Got::Opt {
                code: 101,
                arg: Some("1,2")
            }
        );
    }
}
