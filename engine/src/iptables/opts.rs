//! iptables' command and option flags, its long option table and the
//! command/option compatibility checks (`add_command`, `set_option`,
//! `generic_opt_check`), with iptables 1.8.9's messages.

use crate::ext::{HasArg, XtError, XtResult};

/// The short options string iptables-nft gives getopt.
pub const OPTSTRING: &str =
    "-:A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:g:i:fbvw::W::nt:m:xc:46";

// Command bits, in `cmdflags` order.
pub const CMD_INSERT: u32 = 1 << 0;
pub const CMD_DELETE: u32 = 1 << 1;
pub const CMD_DELETE_NUM: u32 = 1 << 2;
pub const CMD_REPLACE: u32 = 1 << 3;
pub const CMD_APPEND: u32 = 1 << 4;
pub const CMD_LIST: u32 = 1 << 5;
pub const CMD_FLUSH: u32 = 1 << 6;
pub const CMD_ZERO: u32 = 1 << 7;
pub const CMD_NEW_CHAIN: u32 = 1 << 8;
pub const CMD_DELETE_CHAIN: u32 = 1 << 9;
pub const CMD_SET_POLICY: u32 = 1 << 10;
pub const CMD_RENAME_CHAIN: u32 = 1 << 11;
pub const CMD_LIST_RULES: u32 = 1 << 12;
pub const CMD_ZERO_NUM: u32 = 1 << 13;
pub const CMD_CHECK: u32 = 1 << 14;

const CMD_CHARS: [char; 15] = [
    'I', 'D', 'D', 'R', 'A', 'L', 'F', 'Z', 'N', 'X', 'P', 'E', 'S', 'Z', 'C',
];

/// Commands that take a rule specification.
pub const CMD_IDRAC: u32 = CMD_INSERT | CMD_DELETE | CMD_REPLACE | CMD_APPEND | CMD_CHECK;

// Option bits, in `optflags` order.
pub const OPT_NUMERIC: u32 = 1 << 0;
pub const OPT_SOURCE: u32 = 1 << 1;
pub const OPT_DESTINATION: u32 = 1 << 2;
pub const OPT_PROTOCOL: u32 = 1 << 3;
pub const OPT_JUMP: u32 = 1 << 4;
pub const OPT_VERBOSE: u32 = 1 << 5;
pub const OPT_EXPANDED: u32 = 1 << 6;
pub const OPT_VIANAMEIN: u32 = 1 << 7;
pub const OPT_VIANAMEOUT: u32 = 1 << 8;
pub const OPT_LINENUMBERS: u32 = 1 << 9;
pub const OPT_COUNTERS: u32 = 1 << 10;
pub const OPT_FRAGMENT: u32 = 1 << 11;

const OPT_CHARS: [char; 12] = ['n', 's', 'd', 'p', 'j', 'v', 'x', 'i', 'o', '0', 'c', 'f'];

/// Options that may follow `!`.
const INVERTIBLE: u32 =
    OPT_SOURCE | OPT_DESTINATION | OPT_PROTOCOL | OPT_VIANAMEIN | OPT_VIANAMEOUT | OPT_FRAGMENT;

/// For each option (in `optflags` order), the commands it is legal with.
const OPTIONS_V_COMMANDS: [u32; 12] = [
    CMD_LIST,
    CMD_IDRAC,
    CMD_IDRAC,
    CMD_IDRAC,
    CMD_IDRAC,
    u32::MAX,
    CMD_LIST,
    CMD_IDRAC,
    CMD_IDRAC,
    CMD_LIST,
    CMD_INSERT | CMD_REPLACE | CMD_APPEND | CMD_SET_POLICY,
    CMD_IDRAC,
];

/// iptables' own long options (`original_opts`), in their order.
pub const BASE_LONGOPTS: &[(&str, HasArg, char)] = &[
    ("append", HasArg::Required, 'A'),
    ("delete", HasArg::Required, 'D'),
    ("check", HasArg::Required, 'C'),
    ("insert", HasArg::Required, 'I'),
    ("replace", HasArg::Required, 'R'),
    ("list", HasArg::Optional, 'L'),
    ("list-rules", HasArg::Optional, 'S'),
    ("flush", HasArg::Optional, 'F'),
    ("zero", HasArg::Optional, 'Z'),
    ("new-chain", HasArg::Required, 'N'),
    ("delete-chain", HasArg::Optional, 'X'),
    ("rename-chain", HasArg::Required, 'E'),
    ("policy", HasArg::Required, 'P'),
    ("source", HasArg::Required, 's'),
    ("destination", HasArg::Required, 'd'),
    ("src", HasArg::Required, 's'),
    ("dst", HasArg::Required, 'd'),
    ("protocol", HasArg::Required, 'p'),
    ("in-interface", HasArg::Required, 'i'),
    ("jump", HasArg::Required, 'j'),
    ("table", HasArg::Required, 't'),
    ("match", HasArg::Required, 'm'),
    ("numeric", HasArg::No, 'n'),
    ("out-interface", HasArg::Required, 'o'),
    ("verbose", HasArg::No, 'v'),
    ("wait", HasArg::Optional, 'w'),
    ("wait-interval", HasArg::Optional, 'W'),
    ("exact", HasArg::No, 'x'),
    ("fragments", HasArg::No, 'f'),
    ("version", HasArg::No, 'V'),
    ("help", HasArg::Optional, 'h'),
    ("line-numbers", HasArg::No, '0'),
    ("modprobe", HasArg::Required, 'M'),
    ("set-counters", HasArg::Required, 'c'),
    ("goto", HasArg::Required, 'g'),
    ("ipv4", HasArg::No, '4'),
    ("ipv6", HasArg::No, '6'),
];

/// The letter of a command bit (the lowest bit set).
pub fn cmd2char(cmd: u32) -> char {
    CMD_CHARS
        .get(cmd.trailing_zeros() as usize)
        .copied()
        .unwrap_or('?')
}

fn opt2char(opt: u32) -> char {
    OPT_CHARS
        .get(opt.trailing_zeros() as usize)
        .copied()
        .unwrap_or('?')
}

/// `add_command`: `others` are the commands `new` may be combined with.
pub fn add_command(cmd: &mut u32, new: u32, others: u32, invert: bool) -> XtResult {
    if invert {
        return Err(XtError::new("unexpected '!' flag"));
    }
    if *cmd & !others != 0 {
        return Err(XtError::new(format!(
            "Cannot use -{} with -{}",
            cmd2char(new),
            cmd2char(*cmd & !others)
        )));
    }
    *cmd |= new;
    Ok(())
}

/// `set_option`: each option once; `!` only before the invertible ones.
pub fn set_option(options: &mut u32, opt: u32, invert: bool) -> XtResult {
    if *options & opt != 0 {
        return Err(XtError::new(format!(
            "multiple -{} flags not allowed",
            opt2char(opt)
        )));
    }
    *options |= opt;
    if invert && opt & INVERTIBLE == 0 {
        return Err(XtError::new(format!(
            "cannot have ! before -{}",
            opt2char(opt)
        )));
    }
    Ok(())
}

/// `generic_opt_check`: every option given must suit one of the commands.
pub fn generic_opt_check(command: u32, options: u32) -> XtResult {
    // The options given, lowest first.
    let mut given = options;
    while given != 0 {
        let i = given.trailing_zeros() as usize;
        given &= given - 1;
        let Some(allowed) = OPTIONS_V_COMMANDS.get(i) else {
            break;
        };
        if command & allowed == 0 {
            return Err(XtError::new(format!(
                "Illegal option `-{}' with this command",
                OPT_CHARS[i]
            )));
        }
    }
    Ok(())
}
