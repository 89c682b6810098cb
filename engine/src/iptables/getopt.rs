//! glibc `getopt_long` as iptables calls it: optstring starting with `-`
//! (non-options returned in order as code 1), bundled short options,
//! unambiguous long-option prefixes, `opterr = 0`.

use crate::ext::HasArg;

/// One entry of the long option table.
#[derive(Debug, Clone)]
pub struct LongOpt {
    pub name: String,
    pub has_arg: HasArg,
    /// Opaque code returned for this option.
    pub code: u32,
}

/// What one call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A short option char, or a long option's code.
    Opt { code: u32, arg: Option<String> },
    /// A non-option word (code 1).
    Word(String),
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

    pub fn next(&mut self, longs: &[LongOpt]) -> Got {
        if self.nextchar == 0 {
            if self.optind >= self.argv.len() {
                return Got::End;
            }
            let arg = &self.argv[self.optind];
            if arg == "--" {
                self.optind = self.argv.len();
                return Got::End;
            }
            if !arg.starts_with('-') || arg.len() == 1 {
                self.optind += 1;
                return Got::Word(arg.clone());
            }
            if let Some(body) = arg.strip_prefix("--") {
                self.optind += 1;
                return self.long(body, longs);
            }
            self.nextchar = 1;
        }
        let arg = &self.argv[self.optind];
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
                    Some(arg[self.nextchar..].to_string())
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
                    let v = arg[self.nextchar..].to_string();
                    self.optind += 1;
                    Some(v)
                } else if self.optind + 1 < self.argv.len() {
                    let v = self.argv[self.optind + 1].clone();
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

    fn long(&mut self, body: &str, longs: &[LongOpt]) -> Got {
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let found = longs.iter().find(|o| o.name == name).or_else(|| {
            let cands: Vec<&LongOpt> = longs.iter().filter(|o| o.name.starts_with(name)).collect();
            let first = *cands.first()?;
            let ambiguous = cands
                .iter()
                .any(|o| o.has_arg != first.has_arg || o.code != first.code);
            if ambiguous {
                None
            } else {
                Some(first)
            }
        });
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
                    let v = self.argv[self.optind].clone();
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

#[cfg(test)]
mod tests {
    use super::*;

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
            g.next(&[]),
            Got::Opt {
                code: 'L' as u32,
                arg: Some("vn".into())
            }
        );
        assert_eq!(g.next(&[]), Got::End);
    }

    #[test]
    fn bundled_flags_then_required() {
        let a = argv("-vnA INPUT x");
        let mut g = Getopt::new(&a, "-:A:vn");
        assert!(matches!(g.next(&[]), Got::Opt { code, .. } if code == 'v' as u32));
        assert!(matches!(g.next(&[]), Got::Opt { code, .. } if code == 'n' as u32));
        assert_eq!(
            g.next(&[]),
            Got::Opt {
                code: 'A' as u32,
                arg: Some("INPUT".into())
            }
        );
        assert_eq!(g.next(&[]), Got::Word("x".into()));
    }

    #[test]
    fn long_prefixes() {
        let longs = vec![
            LongOpt {
                name: "dport".into(),
                has_arg: HasArg::Required,
                code: 100,
            },
            LongOpt {
                name: "dports".into(),
                has_arg: HasArg::Required,
                code: 101,
            },
        ];
        let a = argv("--dport 22 --dpo 1 --dports 1,2");
        let mut g = Getopt::new(&a, "-");
        assert_eq!(
            g.next(&longs),
            Got::Opt {
                code: 100,
                arg: Some("22".into())
            }
        );
        assert_eq!(g.next(&longs), Got::Unknown { optopt: None });
        assert_eq!(g.next(&longs), Got::Word("1".into()));
        assert_eq!(
            g.next(&longs),
            Got::Opt {
                code: 101,
                arg: Some("1,2".into())
            }
        );
    }
}
