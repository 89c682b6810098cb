//! `ipset help [TYPE]`: our own wording, in the layout ipset uses.

use super::types::{Arg, Kind};

/// The general help printed by `ipset help`.
pub fn general() -> String {
    let mut s = String::from("ipset v7.17\n\nUsage: ipset [options] COMMAND\n\nCommands:\n");
    for (cmd, args, what) in [
        (
            "create",
            "SETNAME TYPENAME [type-specific-options]",
            "Make a new set",
        ),
        ("add", "SETNAME ENTRY", "Put an entry into the set"),
        ("del", "SETNAME ENTRY", "Take an entry out of the set"),
        (
            "test",
            "SETNAME ENTRY",
            "Check whether an entry is in the set",
        ),
        ("destroy", "[SETNAME]", "Remove one set, or every set"),
        (
            "list",
            "[SETNAME]",
            "Show one set, or every set, with its entries",
        ),
        (
            "save",
            "[SETNAME]",
            "Print one set, or every set, as restore input",
        ),
        ("restore", "", "Read commands from standard input"),
        ("flush", "[SETNAME]", "Empty one set, or every set"),
        ("rename", "FROM-SETNAME TO-SETNAME", "Give a set a new name"),
        (
            "swap",
            "FROM-SETNAME TO-SETNAME",
            "Exchange the contents of two sets",
        ),
        (
            "help",
            "[TYPENAME]",
            "Show this help, or the options of a set type",
        ),
        ("version", "", "Show the version"),
        ("quit", "", "Leave interactive mode"),
    ] {
        s.push_str(&format!("{cmd} {args}\n        {what}\n"));
    }
    s.push_str("\nOptions:\n");
    for (opt, text) in [
        (
            "-o plain|save|xml",
            "       Output format of listings (list: plain, save: save).",
        ),
        ("-s ", "        Print entries in sorted order."),
        ("-q ", "        Print no warnings or errors."),
        ("-r ", "        Show host names instead of addresses."),
        (
            "-! ",
            "        Do not complain about sets or entries that already\n        exist (create, add) or are missing (del).",
        ),
        ("-n ", "        List set names only.\n"),
        ("-t ", "        List set names and headers, without entries."),
        (
            "-f ",
            "        Read restore input from, or write listings to, a file.",
        ),
    ] {
        s.push_str(&format!("{opt}\n{text}\n"));
    }
    s
}

/// The list of types after the general help.
pub fn types_list() -> String {
    let mut s = String::from("\nSupported set types:\n");
    for k in Kind::ALL {
        let tab = if k.name().len() < 12 { "\t" } else { "" };
        s.push_str(&format!(
            "    {}\t{tab}{}\t{}\n",
            k.name(),
            k.revision(),
            describe(k)
        ));
    }
    s
}

fn describe(k: Kind) -> &'static str {
    match k {
        Kind::HashIp => "single addresses",
        Kind::HashNet => "networks of any size",
        Kind::HashIpPort => "address and protocol/port pairs",
        Kind::HashNetPort => "network and protocol/port pairs",
        Kind::HashIpPortIp => "address, protocol/port and second address",
        Kind::HashIpPortNet => "address, protocol/port and network",
        Kind::HashNetIface => "network and interface pairs",
        Kind::BitmapIp => "addresses from a range of at most 65536",
        Kind::BitmapIpMac => "addresses from a range, with MAC addresses",
        Kind::BitmapPort => "ports from a range",
        Kind::ListSet => "a list of other sets",
    }
}

fn arg_help(a: Arg) -> &'static str {
    match a {
        Arg::Family => "[family inet|inet6]|[-4|-6]",
        Arg::HashSize => "[hashsize VALUE]",
        Arg::MaxElem => "[maxelem VALUE]",
        Arg::Netmask => "[netmask CIDR]",
        Arg::Bitmask => "[bitmask bitmask]",
        Arg::Timeout => "[timeout VALUE]",
        Arg::Counters => "[counters]",
        Arg::Comment => "[comment]",
        Arg::ForceAdd => "[forceadd]",
        Arg::SkbInfo => "[skbinfo]",
        Arg::BucketSize => "[bucketsize VALUE]",
        Arg::InitVal => "[initval VALUE]",
        Arg::Size => "[size VALUE]",
        Arg::NoMatch => "[nomatch]",
        Arg::Wildcard => "[wildcard]",
        Arg::Packets => "[packets VALUE]",
        Arg::Bytes => "[bytes VALUE]",
        Arg::AdtComment => "[comment \"string\"]",
        Arg::SkbMark => "[skbmark VALUE]",
        Arg::SkbPrio => "[skbprio VALUE]",
        Arg::SkbQueue => "[skbqueue VALUE]",
        Arg::Before | Arg::After => "[before|after NAME]",
        _ => "",
    }
}

fn entry_form(k: Kind) -> &'static str {
    match k {
        Kind::HashIp => "IP",
        Kind::HashNet => "IP[/CIDR]",
        Kind::HashIpPort => "IP,[PROTO:]PORT",
        Kind::HashNetPort => "IP[/CIDR]|FROM-TO,[PROTO:]PORT",
        Kind::HashIpPortIp => "IP,[PROTO:]PORT,IP",
        Kind::HashIpPortNet => "IP,[PROTO:]PORT,IP[/CIDR]",
        Kind::HashNetIface => "IP[/CIDR]|FROM-TO,[physdev:]IFACE",
        Kind::BitmapIp => "IP|IP/CIDR|FROM-TO",
        Kind::BitmapIpMac => "IP[,MAC]",
        Kind::BitmapPort => "[PROTO:]PORT|FROM-TO",
        Kind::ListSet => "NAME [before|after NAME]",
    }
}

/// `ipset help TYPE`, after the general help.
pub fn type_help(k: Kind) -> String {
    let mut s = format!("\n{} type specific options:\n\n", k.name());
    let create_form = match k {
        Kind::BitmapIp | Kind::BitmapIpMac => "range IP/CIDR|FROM-TO",
        Kind::BitmapPort => "range [PROTO:]FROM-TO",
        _ => "",
    };
    let mut seen = Vec::new();
    let mut block = |prefix: &str, form: &str, args: &[Arg], s: &mut String| {
        s.push_str(&format!("{prefix} {} {form}\n", k.name()));
        seen.clear();
        for a in args {
            let h = arg_help(*a);
            if h.is_empty() || seen.contains(&h) {
                continue;
            }
            seen.push(h);
            s.push_str(&format!("               {h}\n"));
        }
    };
    block("create SETNAME", create_form, k.create_args(), &mut s);
    block("add    SETNAME", entry_form(k), k.add_args(), &mut s);
    block("del    SETNAME", entry_form(k), k.del_args(), &mut s);
    block("test   SETNAME", entry_form(k), k.test_args(), &mut s);
    s.push_str("\nwhere IP is an IPv4 address or a host name, CIDR a prefix length,\n");
    s.push_str("      FROM-TO an inclusive range; ranges and CIDR blocks are expanded\n");
    s.push_str("      into single entries where the type stores single entries.\n");
    if k.parts().contains(&super::types::Part::Port) {
        s.push_str("      [PROTO:]PORT is a port number or a service name (TCP unless\n");
        s.push_str("      tcp|udp|sctp|udplite is given), icmp:NAME or icmp:TYPE/CODE,\n");
        s.push_str("      or PROTO:0 for any other protocol.\n");
    }
    let fam = match k {
        Kind::BitmapPort | Kind::ListSet => format!("\nType {} is family neutral.\n", k.name()),
        Kind::BitmapIp | Kind::BitmapIpMac => {
            format!("\nType {} supports family inet only.\n", k.name())
        }
        _ => format!("\nType {} supports inet and inet6.\n", k.name()),
    };
    s.push_str(&fam);
    s
}
