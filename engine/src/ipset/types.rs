//! Set types: names and aliases, what each element is made of, which
//! create and element options each type takes, and revision numbers as the
//! kernel here reports them.

/// The set types the kernel supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    HashIp,
    HashNet,
    HashIpPort,
    HashNetPort,
    HashIpPortIp,
    HashIpPortNet,
    HashNetIface,
    BitmapIp,
    BitmapIpMac,
    BitmapPort,
    ListSet,
}

/// One part of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// An address; ranges and CIDR blocks expand to single addresses.
    Ip,
    /// A network (`IP[/CIDR]`, ranges split into CIDR blocks).
    Net,
    /// `[PROTO:]PORT`.
    Port,
    /// A plain second address.
    Ip2,
    /// A second network.
    Net2,
    /// `[physdev:]IFACE`.
    Iface,
    /// An optional MAC address.
    Mac,
    /// A set name.
    Name,
}

/// Names of every type ipset 7.17 knows, with its old aliases; `None` for
/// types this kernel does not provide (creating them fails in the kernel).
const NAMES: &[(&str, &str, Option<Kind>)] = &[
    ("hash:ip", "iphash", Some(Kind::HashIp)),
    ("hash:net", "nethash", Some(Kind::HashNet)),
    ("hash:ip,port", "ipporthash", Some(Kind::HashIpPort)),
    ("hash:net,port", "netporthash", Some(Kind::HashNetPort)),
    ("hash:ip,port,ip", "ipportiphash", Some(Kind::HashIpPortIp)),
    (
        "hash:ip,port,net",
        "ipportnethash",
        Some(Kind::HashIpPortNet),
    ),
    ("hash:net,iface", "netifacehash", Some(Kind::HashNetIface)),
    ("bitmap:ip", "ipmap", Some(Kind::BitmapIp)),
    ("bitmap:ip,mac", "macipmap", Some(Kind::BitmapIpMac)),
    ("bitmap:port", "portmap", Some(Kind::BitmapPort)),
    ("list:set", "setlist", Some(Kind::ListSet)),
    ("hash:net,net", "netnethash", None),
    ("hash:net,port,net", "netportnethash", None),
    ("hash:ip,mark", "ipmarkhash", None),
    ("hash:mac", "machash", None),
    ("hash:ip,mac", "ipmachash", None),
];

/// Resolves a type name or alias: `Err(true)` for a type the kernel lacks,
/// `Err(false)` for an unknown name.
pub fn resolve(name: &str) -> Result<Kind, bool> {
    for (n, alias, kind) in NAMES {
        if *n == name || *alias == name {
            return kind.ok_or(true);
        }
    }
    Err(false)
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::HashIp,
        Kind::HashNet,
        Kind::HashIpPort,
        Kind::HashNetPort,
        Kind::HashIpPortIp,
        Kind::HashIpPortNet,
        Kind::HashNetIface,
        Kind::BitmapIp,
        Kind::BitmapIpMac,
        Kind::BitmapPort,
        Kind::ListSet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::HashIp => "hash:ip",
            Kind::HashNet => "hash:net",
            Kind::HashIpPort => "hash:ip,port",
            Kind::HashNetPort => "hash:net,port",
            Kind::HashIpPortIp => "hash:ip,port,ip",
            Kind::HashIpPortNet => "hash:ip,port,net",
            Kind::HashNetIface => "hash:net,iface",
            Kind::BitmapIp => "bitmap:ip",
            Kind::BitmapIpMac => "bitmap:ip,mac",
            Kind::BitmapPort => "bitmap:port",
            Kind::ListSet => "list:set",
        }
    }

    /// Revision the kernel module reports (`Revision:` in listings).
    pub fn revision(self) -> u8 {
        match self {
            Kind::HashIp => 6,
            Kind::HashNet => 7,
            Kind::HashIpPort => 7,
            Kind::HashNetPort => 8,
            Kind::HashIpPortIp => 6,
            Kind::HashIpPortNet => 8,
            Kind::HashNetIface => 8,
            Kind::BitmapIp | Kind::BitmapIpMac | Kind::BitmapPort | Kind::ListSet => 3,
        }
    }

    /// The parts of an element, in order.
    pub fn parts(self) -> &'static [Part] {
        match self {
            Kind::HashIp | Kind::BitmapIp => &[Part::Ip],
            Kind::HashNet => &[Part::Net],
            Kind::HashIpPort => &[Part::Ip, Part::Port],
            Kind::HashNetPort => &[Part::Net, Part::Port],
            Kind::HashIpPortIp => &[Part::Ip, Part::Port, Part::Ip2],
            Kind::HashIpPortNet => &[Part::Ip, Part::Port, Part::Net2],
            Kind::HashNetIface => &[Part::Net, Part::Iface],
            Kind::BitmapIpMac => &[Part::Ip, Part::Mac],
            Kind::BitmapPort => &[Part::Port],
            Kind::ListSet => &[Part::Name],
        }
    }

    /// Number of dimensions a `-m set` match needs.
    pub fn dimension(self) -> u8 {
        match self {
            Kind::ListSet => 1,
            k => k.parts().len() as u8,
        }
    }

    pub fn is_hash(self) -> bool {
        self.name().starts_with("hash:")
    }

    pub fn is_bitmap(self) -> bool {
        self.name().starts_with("bitmap:")
    }

    /// Whether the element may leave out its last part (`bitmap:ip,mac`).
    pub fn last_optional(self) -> bool {
        self == Kind::BitmapIpMac
    }

    /// Whether elements can carry the `nomatch` flag.
    pub fn has_nomatch(self) -> bool {
        matches!(
            self,
            Kind::HashNet | Kind::HashNetPort | Kind::HashIpPortNet | Kind::HashNetIface
        )
    }

    /// Create options, as named on the command line (aliases share a meaning).
    pub fn create_args(self) -> &'static [Arg] {
        use Arg::*;
        match self {
            Kind::HashIp => &[
                Family, Inet, Inet6, HashSize, MaxElem, Netmask, Bitmask, Timeout, Counters,
                Comment, ForceAdd, SkbInfo, BucketSize, InitVal, Probes, Resize, Gc,
            ],
            Kind::HashIpPort => &[
                Family, Inet, Inet6, HashSize, MaxElem, Timeout, Counters, Comment, ForceAdd,
                SkbInfo, BucketSize, InitVal, Netmask, Bitmask, Probes, Resize, Gc,
            ],
            Kind::HashNet
            | Kind::HashNetPort
            | Kind::HashIpPortIp
            | Kind::HashIpPortNet
            | Kind::HashNetIface => &[
                Family, Inet, Inet6, HashSize, MaxElem, Timeout, Counters, Comment, ForceAdd,
                SkbInfo, BucketSize, InitVal, Probes, Resize, Gc,
            ],
            Kind::BitmapIp => &[Range, Netmask, Timeout, Counters, Comment, SkbInfo],
            Kind::BitmapIpMac | Kind::BitmapPort => &[Range, Timeout, Counters, Comment, SkbInfo],
            Kind::ListSet => &[Size, Timeout, Counters, Comment, SkbInfo],
        }
    }

    /// Options after the element of `add`.
    pub fn add_args(self) -> &'static [Arg] {
        use Arg::*;
        match self {
            Kind::HashNet | Kind::HashNetPort | Kind::HashIpPortNet => &[
                Timeout, NoMatch, Packets, Bytes, AdtComment, SkbMark, SkbPrio, SkbQueue,
            ],
            Kind::HashNetIface => &[
                Timeout, NoMatch, Wildcard, Packets, Bytes, AdtComment, SkbMark, SkbPrio, SkbQueue,
            ],
            Kind::ListSet => &[
                Timeout, Before, After, Packets, Bytes, AdtComment, SkbMark, SkbPrio, SkbQueue,
            ],
            _ => &[
                Timeout, Packets, Bytes, AdtComment, SkbMark, SkbPrio, SkbQueue,
            ],
        }
    }

    /// Options after the element of `del`.
    pub fn del_args(self) -> &'static [Arg] {
        match self {
            Kind::ListSet => &[Arg::Before, Arg::After],
            _ => &[],
        }
    }

    /// Options after the element of `test`.
    pub fn test_args(self) -> &'static [Arg] {
        match self {
            Kind::HashNet | Kind::HashNetPort | Kind::HashIpPortNet | Kind::HashNetIface => {
                &[Arg::NoMatch]
            }
            Kind::ListSet => &[Arg::Before, Arg::After],
            _ => &[],
        }
    }

    /// Which element forms a command accepts: (ip range or cidr in the first
    /// address, port range, range or cidr in the second address).
    pub fn allows(self, cmd: Adt) -> Allowed {
        let full = Allowed {
            ip_range: true,
            ip_cidr: true,
            port_range: true,
            ip2_range: true,
            ip2_cidr: true,
        };
        let none = Allowed::default();
        match (self, cmd) {
            (Kind::HashIpPort, Adt::Test) | (Kind::HashIpPortIp, Adt::Test) => none,
            (Kind::HashIp, _) | (Kind::HashIpPort, _) | (Kind::HashIpPortIp, _) => Allowed {
                ip2_range: false,
                ip2_cidr: false,
                ..full
            },
            (Kind::HashNet, Adt::Test) | (Kind::HashNetIface, Adt::Test) => Allowed {
                ip_cidr: true,
                ..none
            },
            (Kind::HashNet, _) | (Kind::HashNetIface, _) => Allowed {
                ip_range: true,
                ip_cidr: true,
                ..none
            },
            (Kind::HashNetPort, Adt::Test) => Allowed {
                ip_cidr: true,
                ..none
            },
            (Kind::HashNetPort, _) => Allowed {
                ip_range: true,
                ip_cidr: true,
                port_range: true,
                ..none
            },
            (Kind::HashIpPortNet, Adt::Test) => Allowed {
                ip2_cidr: true,
                ..none
            },
            (Kind::HashIpPortNet, _) => full,
            (Kind::BitmapIp, Adt::Test) | (Kind::BitmapPort, Adt::Test) => none,
            (Kind::BitmapIp, _) => Allowed {
                ip_range: true,
                ip_cidr: true,
                ..none
            },
            (Kind::BitmapPort, _) => Allowed {
                port_range: true,
                ..none
            },
            (Kind::BitmapIpMac, _) | (Kind::ListSet, _) => none,
        }
    }
}

/// Element forms a command accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    pub ip_range: bool,
    pub ip_cidr: bool,
    pub port_range: bool,
    pub ip2_range: bool,
    pub ip2_cidr: bool,
}

/// The element commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adt {
    Add,
    Del,
    Test,
}

impl Adt {
    pub fn name(self) -> &'static str {
        match self {
            Adt::Add => "add",
            Adt::Del => "del",
            Adt::Test => "test",
        }
    }
}

/// Keyword options of `create` and of the element commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arg {
    Family,
    Inet,
    Inet6,
    HashSize,
    MaxElem,
    Netmask,
    Bitmask,
    Timeout,
    Counters,
    Comment,
    ForceAdd,
    SkbInfo,
    BucketSize,
    InitVal,
    Probes,
    Resize,
    Gc,
    Range,
    Size,
    NoMatch,
    Wildcard,
    Packets,
    Bytes,
    AdtComment,
    SkbMark,
    SkbPrio,
    SkbQueue,
    Before,
    After,
}

impl Arg {
    /// The keywords that select this option (the first is its name in messages).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Arg::Family => &["family"],
            Arg::Inet => &["-4"],
            Arg::Inet6 => &["-6"],
            Arg::HashSize => &["hashsize"],
            Arg::MaxElem => &["maxelem"],
            Arg::Netmask => &["netmask"],
            Arg::Bitmask => &["bitmask"],
            Arg::Timeout => &["timeout"],
            Arg::Counters => &["counters"],
            Arg::Comment => &["comment"],
            Arg::ForceAdd => &["forceadd"],
            Arg::SkbInfo => &["skbinfo"],
            Arg::BucketSize => &["bucketsize"],
            Arg::InitVal => &["initval"],
            Arg::Probes => &["probes"],
            Arg::Resize => &["resize"],
            Arg::Gc => &["gc"],
            Arg::Range => &["range"],
            Arg::Size => &["size"],
            Arg::NoMatch => &["nomatch"],
            Arg::Wildcard => &["wildcard"],
            Arg::Packets => &["packets"],
            Arg::Bytes => &["bytes"],
            Arg::AdtComment => &["comment"],
            Arg::SkbMark => &["skbmark"],
            Arg::SkbPrio => &["skbprio"],
            Arg::SkbQueue => &["skbqueue"],
            Arg::Before => &["before"],
            Arg::After => &["after"],
        }
    }

    /// Whether the keyword takes a value.
    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Arg::Inet
                | Arg::Inet6
                | Arg::Counters
                | Arg::Comment
                | Arg::ForceAdd
                | Arg::SkbInfo
                | Arg::NoMatch
                | Arg::Wildcard
        )
    }

    /// Matches a command-line word (two leading dashes are ignored).
    pub fn matches(self, word: &str) -> bool {
        let w = word.strip_prefix("--").unwrap_or(word);
        self.names().contains(&w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(resolve("iphash"), Ok(Kind::HashIp));
        assert_eq!(resolve("hash:net,iface"), Ok(Kind::HashNetIface));
        assert_eq!(resolve("hash:mac"), Err(true));
        assert_eq!(resolve("HASH:IP"), Err(false));
        for k in Kind::ALL {
            assert_eq!(resolve(k.name()), Ok(k));
        }
    }

    #[test]
    fn dimensions() {
        assert_eq!(Kind::HashIpPortIp.dimension(), 3);
        assert_eq!(Kind::ListSet.dimension(), 1);
        assert!(Kind::HashNetIface.has_nomatch());
        assert!(!Kind::HashIp.has_nomatch());
    }

    #[test]
    fn keywords_ignore_two_dashes() {
        assert!(Arg::Timeout.matches("--timeout"));
        assert!(Arg::Timeout.matches("timeout"));
        assert!(!Arg::Timeout.matches("-timeout"));
    }
}
