//! `iptables -h` text: the command summary, then each loaded extension's help.

use crate::ext::ExtInfo;

const MAIN_HELP: &str = "\
iptables v1.8.9 (nf_tables)

Usage: iptables -[ACD] chain rule-specification [options]
       iptables -I chain [rulenum] rule-specification [options]
       iptables -R chain rulenum rule-specification [options]
       iptables -D chain rulenum [options]
       iptables -[LS] [chain [rulenum]] [options]
       iptables -[FZ] [chain] [options]
       iptables -[NX] chain
       iptables -E old-chain-name new-chain-name
       iptables -P chain target [options]
       iptables -h (print this help information)

Commands:
Either long or short options are allowed.
  --append  -A chain            Add a rule at the end of the chain
  --check   -C chain            Tell whether a matching rule exists
  --delete  -D chain            Remove the matching rule from the chain
  --delete  -D chain rulenum
                                Remove rule number rulenum (1 = first)
  --insert  -I chain [rulenum]
                                Insert as rule number rulenum (default 1 = first)
  --replace -R chain rulenum
                                Replace rule number rulenum (1 = first)
  --list    -L [chain [rulenum]]
                                Show the rules of one chain or of all chains
  --list-rules -S [chain [rulenum]]
                                Print the rules as commands
  --flush   -F [chain]          Remove every rule of one chain or of all chains
  --zero    -Z [chain [rulenum]]
                                Reset packet and byte counters
  --new     -N chain            Create a user-defined chain
  --delete-chain
            -X [chain]          Remove a user-defined chain
  --policy  -P chain target
                                Set the policy of a built-in chain
  --rename-chain
            -E old-chain new-chain
                                Rename a chain (references follow it)

Options:
    --ipv4      -4              Nothing (line is ignored by ip6tables-restore)
    --ipv6      -6              Error (line is ignored by iptables-restore)
[!] --protocol  -p proto        protocol by number or name, e.g. `tcp'
[!] --source    -s address[/mask][...]
                                source specification
[!] --destination -d address[/mask][...]
                                destination specification
[!] --in-interface -i input name[+]
                                input interface ([+] is a prefix wildcard)
 --jump -j target
                                target of the rule (may load an extension)
  --goto      -g chain
                                go to the chain and do not return
  --match       -m match
                                extended match (may load an extension)
  --numeric     -n              numeric addresses and ports
[!] --out-interface -o output name[+]
                                output interface ([+] is a prefix wildcard)
  --table       -t table        table to work on (default: `filter')
  --verbose     -v              verbose mode
  --wait        -w [seconds]    wait for the xtables lock (accepted, no effect)
  --line-numbers                number the rules when listing
  --exact       -x              print exact counter values
[!] --fragment  -f              match second and later fragments only
  --modprobe=<command>          command to load modules (accepted, no effect)
  --set-counters -c PKTS BYTES  counters of an inserted or appended rule
[!] --version   -V              print the version
";

/// Help of the standard target (`-j ACCEPT`, `DROP`, `RETURN`).
const STANDARD_HELP: &str = "\
standard match options:
(no options: ACCEPT, DROP, RETURN and a rule without a target take none)
";

/// The whole help: main text, then the standard target's help when `-j`
/// named a verdict, then each extension's help, each after a blank line.
pub fn full_help(standard: bool, exts: &[&'static ExtInfo]) -> String {
    let mut s = MAIN_HELP.to_string();
    if standard {
        s.push('\n');
        s.push_str(STANDARD_HELP);
    }
    for e in exts {
        s.push('\n');
        if e.help.is_empty() {
            s.push_str(&format!("{} does not take any options\n", e.name));
        } else {
            s.push_str(e.help);
        }
    }
    s
}
