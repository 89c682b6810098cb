//! Half-open TCP connections: a listener's answered SYN waiting for its
//! ACK (the kernel's SYN_RECV request sock), and how `tcp_check_req` judges
//! the segments that reach it.

use crate::packet::{tcp_flags, TcpInfo};
use std::net::Ipv4Addr;

/// A request sock: what the kernel keeps of an answered SYN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfOpen {
    /// The peer's initial sequence number (its SYN's).
    pub rcv_isn: u32,
    /// Ours (the SYN-ACK's).
    pub snt_isn: u32,
    /// The receive window the SYN-ACK announced.
    pub rcv_wnd: u32,
    /// The SYN's options: a retransmitted SYN-ACK answers them again.
    pub syn_options: Vec<u8>,
    /// When an out-of-window answer (a SYN-ACK again, an ACK) last went
    /// out, host clock in ns; 0 before the first (`last_oow_ack_time`).
    pub last_oow_ns: u64,
}

/// What the request sock does with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A retransmitted SYN: the SYN-ACK again.
    SynAckAgain,
    /// Dropped without an answer (rate limited, no ACK, a RST not believed).
    Ignore,
    /// Its ACK does not acknowledge the SYN-ACK: the listener answers with
    /// a RST (seq = the segment's ACK number); the request stays.
    ResetWrongAck,
    /// An ACK of what was received: for a segment outside the receive
    /// window, or a RST inside it but not at its start (a challenge ACK).
    Ack,
    /// A RST at the window's start, or a SYN inside the window: the
    /// request is dropped, a RST answers anything but a RST.
    EmbryonicReset,
    /// The ACK completes the handshake.
    Established,
}

/// Sequence number `a` before `b`, modulo 2^32.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `tcp_in_window`: the segment `seq..end_seq` overlaps `s_win..e_win`.
fn in_window(seq: u32, end_seq: u32, s_win: u32, e_win: u32) -> bool {
    seq == s_win
        || (before(s_win, end_seq) && before(seq, e_win))
        || (seq == e_win && seq == end_seq)
}

impl HalfOpen {
    /// `tcp_oow_rate_limited`: data without a SYN always gets its answer;
    /// otherwise one answer per `tcp_invalid_ratelimit` ms.
    fn rate_limited(&mut self, t: &TcpInfo, now_ns: u64, limit_ms: u64) -> bool {
        let data = t.payload_len > 0 || t.flags & tcp_flags::FIN != 0;
        if data && t.flags & tcp_flags::SYN == 0 {
            return false;
        }
        if self.last_oow_ns != 0 && now_ns.saturating_sub(self.last_oow_ns) < limit_ms * 1_000_000 {
            return true;
        }
        self.last_oow_ns = now_ns.max(1);
        false
    }

    /// Judges a segment as Linux 6.18's `tcp_check_req` does (as tried
    /// against it; timestamps not checked).
    pub fn judge(&mut self, t: &TcpInfo, now_ns: u64, ratelimit_ms: u64) -> Verdict {
        use tcp_flags::{ACK, FIN, RST, SYN};
        // FIN, PSH, URG... play no part in the request sock's checks.
        let mut flg = t.flags & (RST | SYN | ACK);
        if t.seq == self.rcv_isn && flg == SYN {
            return if self.rate_limited(t, now_ns, ratelimit_ms) {
                Verdict::Ignore
            } else {
                Verdict::SynAckAgain
            };
        }
        let len =
            t.payload_len as u32 + u32::from(t.flags & SYN != 0) + u32::from(t.flags & FIN != 0);
        let rcv_nxt = self.rcv_isn.wrapping_add(1);
        let end_seq = t.seq.wrapping_add(len);
        let inside = in_window(t.seq, end_seq, rcv_nxt, rcv_nxt.wrapping_add(self.rcv_wnd));
        // A RST is judged by its sequence number alone, whatever it acknowledges.
        if flg & RST != 0 {
            return if t.seq == rcv_nxt {
                Verdict::EmbryonicReset
            } else if inside && !self.rate_limited(t, now_ns, ratelimit_ms) {
                Verdict::Ack
            } else {
                Verdict::Ignore
            };
        }
        if flg & ACK != 0 && t.ack != self.snt_isn.wrapping_add(1) {
            return Verdict::ResetWrongAck;
        }
        if !inside {
            return if self.rate_limited(t, now_ns, ratelimit_ms) {
                Verdict::Ignore
            } else {
                Verdict::Ack
            };
        }
        if t.seq == self.rcv_isn {
            // The SYN itself lies before the window.
            flg &= !SYN;
        }
        if flg & SYN != 0 {
            return Verdict::EmbryonicReset;
        }
        if flg & ACK == 0 {
            return Verdict::Ignore;
        }
        Verdict::Established
    }
}

/// The key of a connection on a host: (local port, peer address, peer port).
pub type ConnKey = (u16, Ipv4Addr, u16);

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_flags::*;

    fn seg(flags: u8, seq: u32, ack: u32, payload_len: usize) -> TcpInfo {
        TcpInfo {
            sport: 40000,
            dport: 8080,
            seq,
            ack,
            flags,
            window: 64240,
            urgent: 0,
            options: Default::default(),
            payload_len,
        }
    }

    fn req() -> HalfOpen {
        HalfOpen {
            rcv_isn: 1000,
            snt_isn: 5000,
            rcv_wnd: 64240,
            syn_options: vec![],
            last_oow_ns: 0,
        }
    }

    #[test]
    fn segments_as_tcp_check_req_judges_them() {
        let now = 1_000_000_000;
        let cases = [
            (seg(ACK, 1001, 5001, 0), Verdict::Established),
            (seg(ACK | PSH, 1001, 5001, 10), Verdict::Established),
            (seg(ACK, 1001, 12345, 0), Verdict::ResetWrongAck),
            (seg(FIN | ACK, 1001, 1, 0), Verdict::ResetWrongAck),
            (seg(SYN | ACK, 1000, 1, 0), Verdict::ResetWrongAck),
            (seg(ACK, 900_000, 12345, 0), Verdict::ResetWrongAck),
            (seg(RST | ACK, 1001, 1, 0), Verdict::EmbryonicReset),
            (seg(RST | ACK, 900_000, 1, 0), Verdict::Ignore),
            (seg(RST, 1001, 0, 0), Verdict::EmbryonicReset),
            (seg(RST | SYN, 1001, 0, 0), Verdict::EmbryonicReset),
            (seg(RST, 1500, 0, 0), Verdict::Ack),
            (seg(RST, 1000, 0, 0), Verdict::Ignore),
            (seg(RST, 900_000, 0, 0), Verdict::Ignore),
            (seg(SYN, 1500, 0, 0), Verdict::EmbryonicReset),
            (seg(SYN, 900_000, 0, 0), Verdict::Ack),
            (seg(FIN, 1001, 0, 0), Verdict::Ignore),
            (seg(SYN | FIN, 1000, 0, 0), Verdict::SynAckAgain),
            (seg(0, 1001, 0, 0), Verdict::Ignore),
            (seg(ACK, 900_000, 5001, 0), Verdict::Ack),
        ];
        for (s, want) in cases {
            assert_eq!(req().judge(&s, now, 500), want, "{s:?}");
        }
    }

    #[test]
    fn answers_out_of_the_window_are_rate_limited() {
        let mut r = req();
        let syn = seg(SYN, 1000, 0, 0);
        let ms = 1_000_000;
        assert_eq!(r.judge(&syn, 1000 * ms, 500), Verdict::SynAckAgain);
        assert_eq!(r.judge(&syn, 1400 * ms, 500), Verdict::Ignore);
        let far = seg(ACK, 900_000, 5001, 0);
        assert_eq!(r.judge(&far, 1450 * ms, 500), Verdict::Ignore);
        let challenged = seg(RST, 1500, 0, 0);
        assert_eq!(r.judge(&challenged, 1455 * ms, 500), Verdict::Ignore);
        // Data without a SYN is answered whatever the pace.
        let data = seg(ACK | PSH, 900_000, 5001, 10);
        assert_eq!(r.judge(&data, 1460 * ms, 500), Verdict::Ack);
        assert_eq!(r.judge(&syn, 1500 * ms, 500), Verdict::SynAckAgain);
    }
}
