//! TCP window tracking against the kernel: scripted conversations through
//! the router between a phantom client (r0) and a phantom server (r1) —
//! in-window data, segments past the window, acknowledgements of data never
//! sent, spoofed and inexact RSTs, SYN-ACKs acknowledging nothing, pickup
//! mid-stream, window scaling, SACK, retransmissions, unacknowledged data,
//! reopening after a close, a restarted client — each run with both
//! values of `nf_conntrack_tcp_be_liberal` and `nf_conntrack_tcp_loose`.
//! The router drops INVALID and counts NEW and ESTABLISHED, so the frames,
//! the counters, the connections and their seconds to live must agree (the
//! kernel fuzzer's harness compares them). Skips with a reason when not
//! root.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
#[allow(dead_code)]
mod fuzz;
#[cfg(target_os = "linux")]
mod oracle;

#[cfg(target_os = "linux")]
mod cases {
    use super::common;
    use super::fuzz::gen::{net, Origin, Ruleset, Step};
    use super::fuzz::{kernel, kernel::Kernel, run};
    use engine::packet::{build_tcp, tcp_flags::*, IpFields, TcpFields};

    const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate NEW
-A FORWARD -m conntrack --ctstate ESTABLISHED
COMMIT
";

    /// One segment: from the client?, flags, seq, ack, data bytes, window, options.
    type Seg = (bool, u8, u32, u32, usize, u16, &'static [u8]);

    const C: bool = true;
    const S: bool = false;
    const WIN: u16 = 64240;
    /// MSS 1460 and window scale 7; window scale 2; SACK permitted.
    const MSS_WS7: &[u8] = &[2, 4, 5, 0xb4, 1, 3, 3, 7];
    const WS2: &[u8] = &[1, 3, 3, 2];
    const SACK_OK: &[u8] = &[1, 1, 4, 2];

    /// Client ISN 1000, server ISN 5000, then the client's ACK.
    fn handshake(client_win: u16, server_win: u16) -> Vec<Seg> {
        vec![
            (C, SYN, 1000, 0, 0, client_win, &[]),
            (S, SYN | ACK, 5000, 1001, 0, server_win, &[]),
            (C, ACK, 1001, 5001, 0, client_win, &[]),
        ]
    }

    fn with(mut first: Vec<Seg>, rest: &[Seg]) -> Vec<Seg> {
        first.extend_from_slice(rest);
        first
    }

    /// A SACK block acknowledging the server's bytes up to `right`.
    fn sack_block(right: u32) -> &'static [u8] {
        let mut o = vec![1, 1, 5, 10];
        o.extend_from_slice(&5001u32.to_be_bytes());
        o.extend_from_slice(&right.to_be_bytes());
        Box::leak(o.into_boxed_slice())
    }

    fn conversations() -> Vec<(&'static str, Vec<Seg>)> {
        vec![
            (
                "in-window data and its acknowledgement",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, PSH | ACK, 1001, 5001, 100, WIN, &[]),
                        (S, ACK, 5001, 1101, 0, WIN, &[]),
                        (S, PSH | ACK, 5001, 1101, 300, WIN, &[]),
                        (C, ACK, 1101, 5301, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "data past the server's window: far (INVALID), a little (ignored)",
                with(
                    handshake(WIN, 500),
                    &[
                        (C, PSH | ACK, 7001, 5001, 10, WIN, &[]),
                        (C, PSH | ACK, 1601, 5001, 10, WIN, &[]),
                        (S, ACK, 5001, 1611, 0, 500, &[]),
                    ],
                ),
            ),
            (
                "acknowledging data never sent",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, ACK, 1001, 9000, 0, WIN, &[]),
                        (S, ACK, 5001, 1001 + 70_000, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "old data retransmitted far below the window",
                with(
                    handshake(1000, 1000),
                    &[
                        (C, PSH | ACK, 1001, 5001, 600, 1000, &[]),
                        (S, ACK, 5001, 1601, 0, 1000, &[]),
                        (C, PSH | ACK, 1601, 5001, 600, 1000, &[]),
                        (S, ACK, 5001, 2201, 0, 1000, &[]),
                        (C, PSH | ACK, 2201, 5001, 600, 1000, &[]),
                        (S, ACK, 5001, 2801, 0, 1000, &[]),
                        (C, PSH | ACK, 1001, 5001, 10, 1000, &[]),
                    ],
                ),
            ),
            (
                "a spoofed RST below the acknowledged data, then an inexact one",
                with(
                    handshake(WIN, WIN),
                    &[
                        (S, RST, 4000, 0, 0, 0, &[]),
                        (S, RST, 5003, 0, 0, 0, &[]),
                        (C, ACK, 1001, 5001, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "an exact RST closes",
                with(
                    handshake(WIN, WIN),
                    &[(S, RST | ACK, 5001, 1001, 0, 0, &[])],
                ),
            ),
            (
                "a SYN-ACK acknowledging nothing, then the right one",
                vec![
                    (C, SYN, 1000, 0, 0, WIN, &[]),
                    (S, SYN | ACK, 5000, 77, 0, WIN, &[]),
                    (S, SYN | ACK, 5000, 1001, 0, WIN, &[]),
                    (C, ACK, 1001, 5001, 0, WIN, &[]),
                ],
            ),
            (
                "a SYN-ACK acknowledging below the window, the client's RST",
                vec![
                    (C, SYN, 1_000_000, 0, 0, WIN, &[]),
                    (S, SYN | ACK, 5000, 1, 0, WIN, &[]),
                    (C, RST, 1, 0, 0, 0, &[]),
                ],
            ),
            (
                "a SYN-ACK acknowledging below the window, an in-window RST",
                vec![
                    (C, SYN, 1_000_000, 0, 0, WIN, &[]),
                    (S, SYN | ACK, 5000, 1, 0, WIN, &[]),
                    (C, RST, 1_000_001, 0, 0, 0, &[]),
                ],
            ),
            (
                "a restarted client's SYN, then its own RST at a stale number",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, SYN, 90_000, 0, 0, WIN, &[]),
                        (C, RST, 500_000, 90_001, 0, 0, &[]),
                    ],
                ),
            ),
            (
                "a restarted client's SYN, then the server's RST answering it",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, SYN, 90_000, 0, 0, WIN, &[]),
                        (S, RST, 500_000, 90_001, 0, 0, &[]),
                    ],
                ),
            ),
            (
                "picked up mid-stream",
                vec![
                    (C, PSH | ACK, 1001, 5001, 20, WIN, &[]),
                    (S, ACK, 5001, 1021, 0, WIN, &[]),
                    (C, ACK, 1021, 5001, 0, WIN, &[]),
                ],
            ),
            (
                "picked up from the server's side, then a RST",
                vec![
                    (S, ACK, 5001, 1001, 0, WIN, &[]),
                    (C, ACK, 1001, 5001, 0, WIN, &[]),
                    (C, RST, 999, 0, 0, 0, &[]),
                ],
            ),
            (
                "window scaling offered by both sides",
                vec![
                    (C, SYN, 1000, 0, 0, 100, MSS_WS7),
                    (S, SYN | ACK, 5000, 1001, 0, 100, WS2),
                    (C, ACK, 1001, 5001, 0, 100, &[]),
                    (S, PSH | ACK, 7001, 1001, 10, 100, &[]),
                    (C, PSH | ACK, 1301, 5001, 10, 100, &[]),
                ],
            ),
            (
                "window scaling offered by the client only",
                vec![
                    (C, SYN, 1000, 0, 0, 100, MSS_WS7),
                    (S, SYN | ACK, 5000, 1001, 0, 100, &[]),
                    (C, ACK, 1001, 5001, 0, 100, &[]),
                    (S, PSH | ACK, 7001, 1001, 10, 100, &[]),
                ],
            ),
            (
                "SACK blocks beyond and within what the server sent",
                vec![
                    (C, SYN, 1000, 0, 0, WIN, SACK_OK),
                    (S, SYN | ACK, 5000, 1001, 0, WIN, SACK_OK),
                    (C, ACK, 1001, 5001, 0, WIN, &[]),
                    (S, PSH | ACK, 5001, 1001, 100, WIN, &[]),
                    (C, ACK, 1001, 5001, 0, WIN, sack_block(9000)),
                    (C, ACK, 1001, 5001, 0, WIN, sack_block(5101)),
                ],
            ),
            (
                "the same ACK again and again",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, ACK, 1001, 5001, 0, WIN, &[]),
                        (C, ACK, 1001, 5001, 0, WIN, &[]),
                        (C, ACK, 1001, 5001, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "data left unacknowledged",
                with(
                    handshake(WIN, WIN),
                    &[(C, PSH | ACK, 1001, 5001, 100, WIN, &[])],
                ),
            ),
            (
                "a zero window",
                with(handshake(WIN, WIN), &[(S, ACK, 5001, 1001, 0, 0, &[])]),
            ),
            (
                "an orderly close, then a new SYN on the same ports",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, FIN | ACK, 1001, 5001, 0, WIN, &[]),
                        (S, FIN | ACK, 5001, 1002, 0, WIN, &[]),
                        (C, ACK, 1002, 5002, 0, WIN, &[]),
                        (C, SYN, 90_000, 0, 0, WIN, &[]),
                        (S, SYN | ACK, 70_000, 90_001, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "a restarted client: its new SYN ignored, the answer believed",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, SYN, 90_000, 0, 0, WIN, &[]),
                        (S, SYN | ACK, 70_000, 90_001, 0, WIN, &[]),
                        (C, ACK, 90_001, 70_001, 0, WIN, &[]),
                    ],
                ),
            ),
            (
                "a SYN in the middle answered by a challenge ACK and a RST",
                with(
                    handshake(WIN, WIN),
                    &[
                        (C, SYN, 90_000, 0, 0, WIN, &[]),
                        (S, ACK, 5001, 1001, 0, WIN, &[]),
                        (C, RST, 1001, 0, 0, 0, &[]),
                    ],
                ),
            ),
        ]
    }

    /// Steps of every conversation, each its own case and client port.
    fn steps() -> Vec<Step> {
        let (client, cmac) = net::CLIENTS[0];
        let (server, smac) = net::PSERVERS[0];
        let mut steps = Vec::new();
        for (case, (_, segs)) in conversations().into_iter().enumerate() {
            let cport = 41_000 + case as u16;
            for (from_client, flags, seq, ack, len, window, options) in segs {
                let (src, dst, sport, dport) = if from_client {
                    (client, server, cport, 9000)
                } else {
                    (server, client, 9000, cport)
                };
                let mut ip = IpFields::new(src, dst);
                ip.id = steps.len() as u16 + 1;
                let fields = TcpFields {
                    sport,
                    dport,
                    seq,
                    ack,
                    flags,
                    window,
                    options: options.to_vec(),
                };
                let pkt = build_tcp(&ip, &fields, &vec![0x61; len]);
                steps.push(Step {
                    id: steps.len(),
                    case,
                    origin: if from_client {
                        Origin::Client
                    } else {
                        Origin::Server
                    },
                    src_mac: if from_client { cmac } else { smac },
                    pkt: pkt.data,
                    reply_to: None,
                    quote: None,
                });
            }
        }
        steps
    }

    #[test]
    fn window_tracking_agrees_with_kernel() {
        if let Err(why) = common::can_use_kernel() {
            println!("skipped: {why}");
            return;
        }
        for tool in ["conntrack", "nft"] {
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !found {
                println!("skipped: {tool} not installed");
                return;
            }
        }
        kernel::remove_stale_namespaces();
        let tag = format!("fz{}", std::process::id());
        let log_tag = format!("TW{}:", std::process::id() % 10000);
        let mut k = match Kernel::new(&tag) {
            Ok(k) => k,
            Err(e) => {
                println!("skipped: network namespaces unavailable: {e}");
                return;
            }
        };
        let steps = steps();
        let names: Vec<&str> = conversations().iter().map(|(n, _)| *n).collect();
        let mut failures = Vec::new();
        let mut compared = 0;
        for liberal in ["0", "1"] {
            for loose in ["0", "1"] {
                let rs = Ruleset {
                    verbatim: Some((String::new(), RULES.to_string())),
                    sysctls: vec![
                        (
                            "net.netfilter.nf_conntrack_tcp_be_liberal".into(),
                            liberal.into(),
                        ),
                        ("net.netfilter.nf_conntrack_tcp_loose".into(), loose.into()),
                    ],
                    ..Default::default()
                };
                let out = run::run(&mut k, &log_tag, &rs, &steps, false);
                assert!(out.refused.is_none(), "{:?}", out.refused);
                compared += out.packets;
                if out.mismatches.is_empty() {
                    continue;
                }
                let cases: std::collections::BTreeSet<usize> = out
                    .mismatches
                    .iter()
                    .filter_map(|m| steps.get(m.step).map(|s| s.case))
                    .collect();
                let rerun = "cargo test -p engine --test kernel_tcp_window -- --nocapture";
                failures.push(format!(
                    "be_liberal={liberal} loose={loose}, conversations {:?}:\n{}",
                    cases.iter().map(|c| names[*c]).collect::<Vec<_>>(),
                    run::report(rerun, &log_tag, &rs, &steps, &out)
                ));
            }
        }
        println!(
            "kernel vs simulator (TCP window tracking): {} conversations, 4 settings, {compared} packets, {} settings disagree",
            names.len(),
            failures.len()
        );
        for f in &failures {
            println!("{f}");
        }
        assert!(failures.is_empty());
    }
}
