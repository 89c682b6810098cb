//! TCP window tracking as `nf_conntrack_proto_tcp.c` judges a segment of a
//! tracked connection: per-direction sequence bounds (`td_end`,
//! `td_maxend`, `td_maxwin`, `td_maxack`, window scale, SACK), the ignored
//! segments and the resync they allow, RST sequence checks, retransmission
//! counting and the timeout each accepted segment earns.

use super::{segment_end, tcp_next, Dir, Next, TcpState};
use crate::packet::{tcp_flags, TcpInfo};
use serde::{Deserialize, Serialize};

/// Per-direction flags (`IP_CT_TCP_FLAG_*`, `IP_CT_EXP_CHALLENGE_ACK`,
/// `IP_CT_TCP_SIMULTANEOUS_OPEN`).
pub mod flag {
    pub const WINDOW_SCALE: u8 = 0x01;
    pub const SACK_PERM: u8 = 0x02;
    pub const CLOSE_INIT: u8 = 0x04;
    pub const BE_LIBERAL: u8 = 0x08;
    pub const DATA_UNACKNOWLEDGED: u8 = 0x10;
    pub const MAXACK_SET: u8 = 0x20;
    pub const EXP_CHALLENGE_ACK: u8 = 0x40;
    pub const SIMULTANEOUS_OPEN: u8 = 0x80;
}

/// `nf_conntrack_tcp_timeout_max_retrans` and `_unacknowledged`.
const RETRANS_TIMEOUT: u64 = 300;
const UNACK_TIMEOUT: u64 = 300;
/// `MAXACKWINCONST`: how far below the receiver's end an ACK may lag.
const MAX_ACK_WINDOW: u32 = 66_000;
const MAX_WSCALE: u8 = 14;

/// The `net.netfilter.nf_conntrack_tcp_*` settings window tracking reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPolicy {
    /// `nf_conntrack_tcp_loose`: pick up connections seen mid-stream.
    pub loose: bool,
    /// `nf_conntrack_tcp_be_liberal`: only out-of-window RSTs are INVALID.
    pub liberal: bool,
    /// `nf_conntrack_tcp_ignore_invalid_rst`.
    pub ignore_invalid_rst: bool,
    /// `nf_conntrack_tcp_max_retrans`.
    pub max_retrans: u32,
}

impl Default for TcpPolicy {
    fn default() -> Self {
        TcpPolicy {
            loose: true,
            liberal: false,
            ignore_invalid_rst: false,
            max_retrans: 3,
        }
    }
}

/// What one direction of a connection has shown (`struct ip_ct_tcp_state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// Just past the furthest sequence number sent.
    pub end: u32,
    /// The furthest sequence number the peer's window allows.
    pub maxend: u32,
    /// The largest window this side advertised.
    pub maxwin: u32,
    /// The largest acknowledgement this side sent.
    pub maxack: u32,
    pub scale: u8,
    pub flags: u8,
}

impl Side {
    fn reset(&mut self) {
        *self = Side {
            flags: self.flags & flag::BE_LIBERAL,
            ..Side::default()
        };
    }
}

/// Which row of the state table a segment uses (`enum tcp_bit_set`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Index {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    #[default]
    None,
}

impl Index {
    pub fn of(flags: u8) -> Index {
        use tcp_flags::*;
        if flags & RST != 0 {
            Index::Rst
        } else if flags & SYN != 0 {
            if flags & ACK != 0 {
                Index::SynAck
            } else {
                Index::Syn
            }
        } else if flags & FIN != 0 {
            Index::Fin
        } else if flags & ACK != 0 {
            Index::Ack
        } else {
            Index::None
        }
    }
}

/// A connection's window tracking (`struct ip_ct_tcp` beside its state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Original and reply direction.
    pub seen: [Side; 2],
    /// The last segment let through or ignored (direction 0 original).
    pub last_dir: u8,
    pub last_index: Index,
    pub last_seq: u32,
    pub last_ack: u32,
    pub last_end: u32,
    pub last_win: u16,
    pub last_wscale: u8,
    pub last_flags: u8,
    /// Identical ACK segments in a row.
    pub retrans: u32,
}

/// How conntrack judged a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// Part of the connection: the state moved; `refresh` is the new
    /// timeout in seconds (None keeps the old one); `assure` sets ASSURED;
    /// `kill` ends the connection (a RST as the only answer).
    Accept {
        refresh: Option<u64>,
        assure: bool,
        kill: bool,
    },
    /// Belongs to the connection but changes nothing (not even the timeout).
    Ignore,
    /// INVALID; `shorten` lowers an assured connection's timeout to the
    /// unacknowledged one (an out-of-window FIN or RST answering one).
    Invalid { shorten: bool },
    /// A SYN reopening a closed connection: drop the entry, look up again.
    Reopen,
}

/// The segment and what the entry knows besides its window.
pub struct Segment<'a> {
    pub dir: Dir,
    pub th: &'a TcpInfo,
    pub seen_reply: bool,
    pub assured: bool,
    pub policy: TcpPolicy,
}

fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// The (kind, body) of each well-formed option, as `tcp_options` walks
/// them: EOL ends, NOP is one byte, a silly or partial length ends.
fn options(raw: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = raw;
    std::iter::from_fn(move || loop {
        let (&kind, tail) = rest.split_first()?;
        match kind {
            0 => return None,
            1 => rest = tail,
            _ => {
                let size = *tail.first()? as usize;
                if size < 2 || size > rest.len() {
                    return None;
                }
                let body = &rest[2..size];
                rest = &rest[size..];
                return Some((kind, body));
            }
        }
    })
}

/// `tcp_options`: window scale and SACK permission from a SYN's options.
fn read_options(raw: &[u8], side: &mut Side) {
    if raw.is_empty() {
        return;
    }
    side.scale = 0;
    side.flags &= flag::BE_LIBERAL;
    for (kind, body) in options(raw) {
        match (kind, body.len()) {
            (4, 0) => side.flags |= flag::SACK_PERM,
            (3, 1) => {
                side.scale = body[0].min(MAX_WSCALE);
                side.flags |= flag::WINDOW_SCALE;
            }
            _ => {}
        }
    }
}

/// `tcp_sack`: the highest right edge among the SACK blocks, if past `ack`.
fn highest_sack(raw: &[u8], ack: u32) -> u32 {
    let mut sack = ack;
    if let Some((_, body)) = options(raw).find(|(k, _)| *k == 5) {
        if !body.is_empty() && body.len() % 8 == 0 {
            for block in body.chunks_exact(8) {
                let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                if after(right, sack) {
                    sack = right;
                }
            }
        }
    }
    sack
}

/// `tcp_new`: the window of a connection a segment starts, or None when
/// conntrack refuses to start one (mid-stream with loose off, or a
/// segment no connection starts with).
pub fn start(th: &TcpInfo, policy: TcpPolicy) -> Option<Window> {
    let mut w = Window::default();
    let first = &mut w.seen[0];
    first.end = segment_end(th);
    first.maxwin = u32::from(th.window).max(1);
    match tcp_next(Dir::Original, th.flags, TcpState::None) {
        Next::To(TcpState::SynSent) => {
            first.maxend = first.end;
            read_options(&th.options, first);
        }
        Next::To(_) if policy.loose => {
            first.maxend = first.end.wrapping_add(first.maxwin);
            // Window scaling of a connection seen mid-stream is unknown:
            // judged liberally, with SACK assumed, for its whole life.
            w.seen[0].flags = flag::SACK_PERM | flag::BE_LIBERAL;
            w.seen[1].flags = flag::SACK_PERM | flag::BE_LIBERAL;
        }
        _ => return None,
    }
    Some(w)
}

/// The window a plain SYN (no ACK, RST or FIN) leaves a connection it
/// opens in, [`TcpState::SynSent`]: what [`start`] then [`judge`] make of
/// it, worked out once for the first packet of most connections. None for
/// any other segment.
pub fn open_with_syn(th: &TcpInfo) -> Option<Window> {
    use tcp_flags::*;
    if th.flags & (SYN | ACK | RST | FIN) != SYN {
        return None;
    }
    let mut w = Window::default();
    let end = segment_end(th);
    let win = u32::from(th.window);
    let first = &mut w.seen[0];
    first.end = end;
    first.maxend = end;
    first.maxwin = win.max(1);
    read_options(&th.options, first);
    // The SYN's window, with nothing acknowledged, bounds what the peer may
    // send (at least one byte).
    w.seen[1].maxend = win.max(1);
    w.last_index = Index::Syn;
    Some(w)
}

/// `tcp_init_sender`: a SYN or SYN-ACK (re)starts its direction.
fn init_sender(w: &mut Window, s: usize, th: &TcpInfo, end: u32, win: u32, dir: Dir) {
    let sender = &mut w.seen[s];
    sender.end = end;
    sender.maxend = end;
    sender.maxwin = win.max(1);
    read_options(&th.options, sender);
    // RFC 1323: scaling only when both sides offered it.
    let both = w.seen[s].flags & w.seen[1 - s].flags & flag::WINDOW_SCALE != 0;
    if dir == Dir::Reply && !both {
        w.seen[s].scale = 0;
        w.seen[1 - s].scale = 0;
    }
}

/// The outcome of `tcp_in_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InWindow {
    Accept,
    Ignore,
    Invalid,
}

/// `tcp_in_window`: whether the segment fits both directions' bounds,
/// updating them when it does.
fn in_window(w: &mut Window, stored: TcpState, seg: &Segment, index: Index) -> InWindow {
    let th = seg.th;
    let s = seg.dir as usize;
    let r = 1 - s;
    let has = |f: u8| th.flags & f != 0;
    let mut seq = th.seq;
    let mut ack = th.ack;
    let mut sack = ack;
    let win_raw = th.window;
    let mut win = u32::from(win_raw);
    let mut end = segment_end(th);
    if w.seen[r].flags & flag::SACK_PERM != 0 {
        sack = highest_sack(&th.options, sack);
    }
    if w.seen[s].maxwin == 0 {
        if has(tcp_flags::SYN) {
            init_sender(w, s, th, end, win, seg.dir);
            if !has(tcp_flags::ACK) {
                // Simultaneous open.
                return InWindow::Accept;
            }
        } else {
            // The first segment seen this way, mid-stream.
            let sender = &mut w.seen[s];
            sender.end = end;
            sender.maxwin = (win << sender.scale).max(1);
            sender.maxend = end.wrapping_add(sender.maxwin);
            let receiver = &mut w.seen[r];
            if receiver.maxwin == 0 {
                receiver.end = sack;
                receiver.maxend = sack;
            } else if sack == receiver.end.wrapping_add(1) {
                // Likely the answer to a keepalive.
                receiver.end = receiver.end.wrapping_add(1);
            }
        }
    } else if has(tcp_flags::SYN)
        && after(end, w.seen[s].end)
        && matches!(stored, TcpState::SynSent | TcpState::SynRecv)
    {
        // A newer SYN (or SYN-ACK) restarts its direction.
        init_sender(w, s, th, end, win, seg.dir);
        if seg.dir == Dir::Reply && !has(tcp_flags::ACK) {
            return InWindow::Accept;
        }
    }
    if !has(tcp_flags::ACK) || (has(tcp_flags::RST) && ack == 0) {
        // No acknowledgement (or a broken RST's zero one): taken as exact.
        ack = w.seen[r].end;
        sack = ack;
    }
    if has(tcp_flags::RST) && seq == 0 && stored == TcpState::SynSent {
        // A RST answering the SYN.
        seq = w.seen[s].end;
        end = seq;
    }
    let liberal = seg.policy.liberal || w.seen[s].flags & flag::BE_LIBERAL != 0;
    let judged = |v: InWindow| if liberal { InWindow::Accept } else { v };
    let max_ack_window = w.seen[s].maxwin.max(MAX_ACK_WINDOW);
    let (sender, receiver) = (w.seen[s], w.seen[r]);
    let ack_not_too_old = after(
        sack,
        receiver.end.wrapping_sub(max_ack_window).wrapping_sub(1),
    );
    let end_in_recv_win = after(
        end,
        sender.end.wrapping_sub(receiver.maxwin).wrapping_sub(1),
    );
    if !before(seq, sender.maxend.wrapping_add(1)) {
        let overshot = end.wrapping_sub(sender.maxend).wrapping_add(1);
        if receiver.maxwin != 0
            && end_in_recv_win
            && ack_not_too_old
            && overshot <= receiver.maxwin
            && before(sack, receiver.end.wrapping_add(1))
        {
            // More data than the window allows: its ACK must still fit.
            w.seen[s].end = end;
            w.seen[s].flags |= flag::DATA_UNACKNOWLEDGED;
            return judged(InWindow::Ignore);
        }
        return judged(InWindow::Invalid);
    }
    if !before(sack, receiver.end.wrapping_add(1)) {
        // Acknowledges data not seen yet.
        return judged(InWindow::Invalid);
    }
    if receiver.maxwin != 0 && !end_in_recv_win {
        // Data already acknowledged, retransmitted.
        return judged(InWindow::Ignore);
    }
    if !ack_not_too_old {
        return judged(InWindow::Ignore);
    }
    if !has(tcp_flags::SYN) {
        win <<= w.seen[s].scale;
    }
    let sender = &mut w.seen[s];
    let swin = win.wrapping_add(sack.wrapping_sub(ack));
    sender.maxwin = sender.maxwin.max(swin);
    if after(end, sender.end) {
        sender.end = end;
        sender.flags |= flag::DATA_UNACKNOWLEDGED;
    }
    if has(tcp_flags::ACK) {
        if sender.flags & flag::MAXACK_SET == 0 {
            sender.maxack = ack;
            sender.flags |= flag::MAXACK_SET;
        } else if after(ack, sender.maxack) {
            sender.maxack = ack;
        }
    }
    let sender_maxend = sender.maxend;
    let receiver = &mut w.seen[r];
    if receiver.maxwin != 0 && after(end, sender_maxend) {
        receiver.maxwin = receiver
            .maxwin
            .wrapping_add(end.wrapping_sub(sender_maxend));
    }
    if after(sack.wrapping_add(win), receiver.maxend.wrapping_sub(1)) {
        receiver.maxend = sack.wrapping_add(win).wrapping_add(u32::from(win == 0));
    }
    if ack == receiver.end {
        receiver.flags &= !flag::DATA_UNACKNOWLEDGED;
    }
    if index == Index::Ack {
        let same = w.last_dir == s as u8
            && w.last_seq == seq
            && w.last_ack == ack
            && w.last_end == end
            && w.last_win == win_raw;
        if same {
            w.retrans = w.retrans.saturating_add(1);
        } else {
            w.last_dir = s as u8;
            w.last_seq = seq;
            w.last_ack = ack;
            w.last_end = end;
            w.last_win = win_raw;
            w.retrans = 0;
        }
    }
    InWindow::Accept
}

/// An ignored segment is remembered: a SYN the firewall thinks stale may
/// be the real connection, which the peer's SYN-ACK then confirms.
fn remember_ignored(w: &mut Window, old: TcpState, seg: &Segment, index: Index) {
    let th = seg.th;
    w.last_index = index;
    w.last_dir = seg.dir as u8;
    w.last_seq = th.seq;
    w.last_end = segment_end(th);
    w.last_win = th.window;
    if index == Index::Syn && seg.dir == Dir::Original {
        let mut opts = Side::default();
        read_options(&th.options, &mut opts);
        w.last_flags = opts.flags & (flag::WINDOW_SCALE | flag::SACK_PERM);
        w.last_wscale = if opts.flags & flag::WINDOW_SCALE != 0 {
            opts.scale
        } else {
            0
        };
        // The peer may answer with a challenge ACK, which must not be
        // taken for the ACK of the last FIN.
        if old == TcpState::LastAck {
            w.last_flags |= flag::EXP_CHALLENGE_ACK;
        }
    }
    if old == TcpState::SynSent && index == Index::Ack && seg.dir == Dir::Reply {
        // Possibly a challenge ACK answering the SYN.
        w.last_ack = th.ack;
    }
}

/// Where a RST's check leads (the `TCP_CONNTRACK_CLOSE` case).
enum RstCheck {
    /// Through the window check.
    Window,
    /// Accepted without it.
    Skip,
    /// INVALID.
    Invalid,
}

fn check_rst(w: &Window, old: TcpState, new: &mut TcpState, seg: &Segment) -> RstCheck {
    // Closing: the tuple may be reused already, its numbers stale.
    if matches!(
        old,
        TcpState::FinWait
            | TcpState::LastAck
            | TcpState::TimeWait
            | TcpState::Close
            | TcpState::CloseWait
    ) {
        return RstCheck::Skip;
    }
    let th = seg.th;
    let peer = &w.seen[1 - seg.dir as usize];
    let established = old == TcpState::Established && seg.assured;
    if peer.flags & flag::MAXACK_SET != 0 && w.last_index != Index::Syn {
        let seq = th.seq;
        if seq == 0 && !established {
            return RstCheck::Window;
        }
        if before(seq, peer.maxack) && !seg.policy.ignore_invalid_rst {
            return RstCheck::Invalid;
        }
        if !established || seq == peer.maxack {
            return RstCheck::Window;
        }
        // The end of a train: right after this side's last segment.
        if w.last_index == Index::Ack && w.last_dir == seg.dir as u8 && seq == w.last_end {
            return RstCheck::Window;
        }
        // Inexact: the state stays, awaiting a challenge ACK.
        *new = old;
    }
    // A RST answering a SYN let through must come from the SYN's peer
    // (Linux 6.18: "do not force CLOSE on invalid-seq RST without
    // direction check").
    let answers_syn = seg.seen_reply && w.last_index == Index::Syn && w.last_dir != seg.dir as u8;
    let answers_let_through = answers_syn || (!seg.assured && w.last_index == Index::Ack);
    if answers_let_through && th.ack == w.last_end {
        return RstCheck::Skip;
    }
    if old == TcpState::SynSent
        && w.last_index == Index::Ack
        && w.last_dir == Dir::Reply as u8
        && th.seq == w.last_ack
    {
        return RstCheck::Skip;
    }
    RstCheck::Window
}

/// `nf_tcp_handle_invalid`: whether an INVALID segment shortens the timeout.
fn handle_invalid(w: &mut Window, seg: &Segment, index: Index) -> bool {
    if !seg.assured || !matches!(index, Index::Rst | Index::Fin) {
        return false;
    }
    let d = seg.dir as u8;
    if w.last_dir != d && matches!(w.last_index, Index::Fin | Index::Rst) {
        return true;
    }
    w.last_index = index;
    w.last_dir = d;
    false
}

/// `nf_conntrack_tcp_packet` for a segment of a tracked connection (a new
/// one starts at [`TcpState::None`] with the window [`start`] gave).
pub fn judge(state: &mut TcpState, w: &mut Window, seg: &Segment) -> Judged {
    let th = seg.th;
    let d = seg.dir as usize;
    let stored = *state;
    let mut old = stored;
    let index = Index::of(th.flags);
    let next = tcp_next(seg.dir, th.flags, old);
    let mut new = match next {
        Next::To(s) => s,
        Next::Ignore => old,
        Next::Invalid => return Judged::Invalid { shorten: false },
    };
    let reopening =
        next == Next::To(TcpState::SynSent) && matches!(old, TcpState::TimeWait | TcpState::Close);
    let mut skip_window = false;
    if reopening || next == Next::Ignore {
        let closed = (w.seen[0].flags | w.seen[1].flags) & flag::CLOSE_INIT != 0;
        if reopening && (closed || (w.last_dir == d as u8 && w.last_index == Index::Rst)) {
            return Judged::Reopen;
        }
        let resync = index == Index::SynAck
            && w.last_index == Index::Syn
            && w.last_dir != d as u8
            && th.ack == w.last_end;
        if !resync {
            remember_ignored(w, old, seg, index);
            return Judged::Ignore;
        }
        // The SYN-ACK answers a SYN ignored earlier: client and server
        // agree, conntrack takes their word.
        old = TcpState::SynSent;
        new = TcpState::SynRecv;
        let l = w.last_dir as usize & 1;
        w.seen[l].end = w.last_end;
        w.seen[l].maxend = w.last_end;
        w.seen[l].maxwin = u32::from(w.last_win).max(1);
        w.seen[l].scale = w.last_wscale;
        w.last_flags &= !flag::EXP_CHALLENGE_ACK;
        w.seen[l].flags = w.last_flags;
        w.seen[d].reset();
    } else {
        match new {
            TcpState::TimeWait
                if old == TcpState::LastAck
                    && index == Index::Ack
                    && w.last_dir != d as u8
                    && w.last_index == Index::Syn
                    && w.last_flags & flag::EXP_CHALLENGE_ACK != 0 =>
            {
                // The challenge ACK answering a SYN, not the last FIN's ACK.
                w.last_flags &= !flag::EXP_CHALLENGE_ACK;
                return Judged::Ignore;
            }
            TcpState::SynSent2 => w.last_flags |= flag::SIMULTANEOUS_OPEN,
            TcpState::SynRecv
                if seg.dir == Dir::Reply
                    && index == Index::Ack
                    && w.last_flags & flag::SIMULTANEOUS_OPEN != 0 =>
            {
                new = TcpState::Established;
            }
            TcpState::Close if index == Index::Rst => match check_rst(w, old, &mut new, seg) {
                RstCheck::Window => {}
                RstCheck::Skip => skip_window = true,
                RstCheck::Invalid => return Judged::Invalid { shorten: false },
            },
            _ => {}
        }
    }
    if !skip_window {
        match in_window(w, stored, seg, index) {
            InWindow::Accept => {}
            InWindow::Ignore => return Judged::Ignore,
            InWindow::Invalid => {
                return Judged::Invalid {
                    shorten: handle_invalid(w, seg, index),
                }
            }
        }
    }
    w.last_index = index;
    w.last_dir = d as u8;
    *state = new;
    if old != new && new == TcpState::FinWait {
        w.seen[d].flags |= flag::CLOSE_INIT;
    }
    let full = new.timeout();
    let unacked = (w.seen[0].flags | w.seen[1].flags) & flag::DATA_UNACKNOWLEDGED != 0;
    let mut timeout = if w.retrans >= seg.policy.max_retrans && full > RETRANS_TIMEOUT {
        RETRANS_TIMEOUT
    } else if index == Index::Rst {
        TcpState::Close.timeout()
    } else if unacked && full > UNACK_TIMEOUT {
        UNACK_TIMEOUT
    } else if w.last_win == 0 && full > RETRANS_TIMEOUT {
        RETRANS_TIMEOUT
    } else {
        full
    };
    let mut assure = false;
    if !seg.seen_reply {
        if th.flags & tcp_flags::RST != 0 {
            return Judged::Accept {
                refresh: None,
                assure: false,
                kill: true,
            };
        }
        if index == Index::Syn && old == TcpState::SynSent {
            // A retransmitted SYN does not keep the entry alive.
            return Judged::Accept {
                refresh: None,
                assure: false,
                kill: false,
            };
        }
        if new == TcpState::Established {
            // Picked up mid-stream and not answered yet.
            timeout = timeout.min(UNACK_TIMEOUT);
        }
    } else if !seg.assured
        && matches!(old, TcpState::SynRecv | TcpState::Established)
        && new == TcpState::Established
    {
        assure = true;
    }
    Judged::Accept {
        refresh: Some(timeout),
        assure,
        kill: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tcp_flags::*;

    fn seg(flags: u8, seq: u32, ack: u32, window: u16, len: usize, options: &[u8]) -> TcpInfo {
        TcpInfo {
            sport: 40000,
            dport: 80,
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options: crate::packet::OptionBytes::new(options).expect("at most 40 option bytes"),
            payload_len: len,
        }
    }

    /// A tracked connection fed segment by segment.
    struct Conn {
        state: TcpState,
        w: Window,
        seen_reply: bool,
        assured: bool,
        policy: TcpPolicy,
    }

    impl Conn {
        fn open(syn: &TcpInfo, policy: TcpPolicy) -> Conn {
            let mut c = Conn {
                state: TcpState::None,
                w: start(syn, policy).expect("starts"),
                seen_reply: false,
                assured: false,
                policy,
            };
            assert!(matches!(c.feed(Dir::Original, syn), Judged::Accept { .. }));
            c
        }

        fn feed(&mut self, dir: Dir, th: &TcpInfo) -> Judged {
            let s = Segment {
                dir,
                th,
                seen_reply: self.seen_reply,
                assured: self.assured,
                policy: self.policy,
            };
            let j = judge(&mut self.state, &mut self.w, &s);
            if let Judged::Accept { assure, .. } = j {
                self.assured |= assure;
            }
            if dir == Dir::Reply && !matches!(j, Judged::Invalid { .. }) {
                self.seen_reply = true;
            }
            j
        }

        /// SYN 100 (window 1000), SYN-ACK 5000 (2000), ACK: established.
        fn handshake(policy: TcpPolicy) -> Conn {
            let mut c = Conn::open(&seg(SYN, 100, 0, 1000, 0, &[]), policy);
            c.feed(Dir::Reply, &seg(SYN | ACK, 5000, 101, 2000, 0, &[]));
            c.feed(Dir::Original, &seg(ACK, 101, 5001, 1000, 0, &[]));
            assert_eq!((c.state, c.assured), (TcpState::Established, true));
            c
        }
    }

    fn refreshed(j: Judged) -> Option<u64> {
        match j {
            Judged::Accept { refresh, .. } => refresh,
            other => panic!("not accepted: {other:?}"),
        }
    }

    const INVALID: Judged = Judged::Invalid { shorten: false };
    const WIN: u16 = 64240;

    /// The shortcut for an opening SYN leaves what the general path
    /// leaves, for any sequence number, window, length, options, extra flags
    /// and policy; other segments take the general path.
    #[test]
    fn an_opening_syn_is_judged_as_the_general_path_judges_it() {
        let mut next = crate::test_rng::xorshift(0x5eed_0f57_1100);
        let option_sets: [&[u8]; 6] = [
            &[],
            &[
                2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
            ],
            &[3, 3, 20, 1, 4, 2],
            &[1, 1, 4, 2, 0, 3, 3, 9],
            &[3, 2, 5],
            &[8, 10, 0, 0, 0, 1, 0, 0, 0, 0],
        ];
        for round in 0..4000 {
            let r = next();
            let flags = (r as u8) & !(FIN | RST | ACK) | SYN;
            let flags = match round % 5 {
                0 => flags | (r >> 8) as u8 & (FIN | RST | ACK),
                _ => flags,
            };
            let window = match round % 7 {
                0 => 0,
                1 => 1,
                2 => u16::MAX,
                _ => (r >> 16) as u16,
            };
            let th = seg(
                flags,
                (r >> 32) as u32,
                (r >> 20) as u32,
                window,
                (r >> 40) as usize % 1500 * usize::from(round % 3 == 0),
                option_sets[round % option_sets.len()],
            );
            let policy = TcpPolicy {
                loose: r & 1 == 0,
                liberal: r & 2 == 0,
                ignore_invalid_rst: r & 4 == 0,
                max_retrans: (r >> 3) as u32 % 4,
            };
            let general = start(&th, policy).map(|mut w| {
                let mut state = TcpState::None;
                let seg = Segment {
                    dir: Dir::Original,
                    th: &th,
                    seen_reply: false,
                    assured: false,
                    policy,
                };
                let judged = judge(&mut state, &mut w, &seg);
                (state, w, judged)
            });
            match open_with_syn(&th) {
                Some(w) => {
                    let want = Judged::Accept {
                        refresh: Some(TcpState::SynSent.timeout()),
                        assure: false,
                        kill: false,
                    };
                    assert_eq!(general, Some((TcpState::SynSent, w, want)), "{th:?}");
                }
                None => assert_ne!(flags & (SYN | ACK | RST | FIN), SYN),
            }
        }
    }

    #[test]
    fn the_handshake_sets_both_directions_bounds() {
        let c = Conn::handshake(TcpPolicy::default());
        let [orig, reply] = c.w.seen;
        assert_eq!((orig.end, orig.maxwin, orig.maxack), (101, 1000, 5001));
        assert_eq!((reply.end, reply.maxwin, reply.maxack), (5001, 2000, 101));
        // Each side may send up to what the other's window allows.
        assert_eq!((orig.maxend, reply.maxend), (2101, 6001));
    }

    #[test]
    fn segments_outside_the_window_are_invalid_and_change_nothing() {
        let mut c = Conn::handshake(TcpPolicy::default());
        let before = c.w;
        // Far beyond what the server's window allows.
        assert_eq!(
            c.feed(Dir::Original, &seg(ACK, 10_000, 5001, 1000, 10, &[])),
            INVALID
        );
        // Acknowledging data the server never sent.
        assert_eq!(
            c.feed(Dir::Original, &seg(ACK, 101, 9000, 1000, 0, &[])),
            INVALID
        );
        assert_eq!((c.w, c.state), (before, TcpState::Established));
        // In the window: accepted, unacknowledged data shortens the timeout
        // until the answer acknowledges it.
        assert_eq!(
            refreshed(c.feed(Dir::Original, &seg(PSH | ACK, 101, 5001, 1000, 500, &[]))),
            Some(300)
        );
        assert_eq!(
            refreshed(c.feed(Dir::Reply, &seg(ACK, 5001, 601, 2000, 0, &[]))),
            Some(432_000)
        );
    }

    #[test]
    fn a_little_more_than_the_window_is_ignored_but_remembered() {
        let mut c = Conn::handshake(TcpPolicy::default());
        // 410 bytes past the server's window: the receiver may still take it.
        assert_eq!(
            c.feed(Dir::Original, &seg(ACK, 2600, 5001, 1000, 500, &[])),
            Judged::Ignore
        );
        assert_eq!(c.w.seen[0].end, 3100);
        // So its acknowledgement is in bounds.
        assert!(matches!(
            c.feed(Dir::Reply, &seg(ACK, 5001, 3100, 2000, 0, &[])),
            Judged::Accept { .. }
        ));
    }

    #[test]
    fn be_liberal_accepts_out_of_window_segments() {
        let liberal = TcpPolicy {
            liberal: true,
            ..TcpPolicy::default()
        };
        let mut c = Conn::handshake(liberal);
        assert!(matches!(
            c.feed(Dir::Original, &seg(ACK, 10_000, 5001, 1000, 10, &[])),
            Judged::Accept { .. }
        ));
        // ... but not a RST below what the peer acknowledged.
        assert_eq!(c.feed(Dir::Reply, &seg(RST, 4000, 0, 0, 0, &[])), INVALID);
    }

    #[test]
    fn loose_decides_mid_stream_pickup() {
        let ack = seg(ACK, 7000, 9000, 500, 0, &[]);
        let strict = TcpPolicy {
            loose: false,
            ..TcpPolicy::default()
        };
        assert!(start(&ack, strict).is_none());
        assert!(start(&seg(SYN, 1, 0, 500, 0, &[]), strict).is_some());
        // Picked up: judged liberally for good, and kept 300 s until answered.
        let mut c = Conn::open(&ack, TcpPolicy::default());
        assert_eq!(c.state, TcpState::Established);
        assert!(c.w.seen.iter().all(|s| s.flags & flag::BE_LIBERAL != 0));
        assert_eq!(
            refreshed(c.feed(Dir::Original, &seg(ACK, 7000, 9000, 500, 0, &[]))),
            Some(300)
        );
        assert!(matches!(
            c.feed(Dir::Reply, &seg(ACK, 1, 2, 500, 0, &[])),
            Judged::Accept { .. }
        ));
    }

    #[test]
    fn window_scale_needs_both_sides() {
        let syn = seg(SYN, 100, 0, 100, 0, &[3, 3, 7, 1]);
        let open = |synack_opts: &[u8]| {
            let mut c = Conn::open(&syn, TcpPolicy::default());
            c.feed(Dir::Reply, &seg(SYN | ACK, 5000, 101, 100, 0, synack_opts));
            c.feed(Dir::Original, &seg(ACK, 101, 5001, 100, 0, &[]));
            c
        };
        // Both offered: the client's 100 means 100 << 7 bytes.
        let mut scaled = open(&[3, 3, 2, 1]);
        assert_eq!(scaled.w.seen[0].scale, 7);
        assert!(matches!(
            scaled.feed(Dir::Reply, &seg(ACK, 6000, 101, 100, 10, &[])),
            Judged::Accept { .. }
        ));
        // Only one side: no scaling, the same segment is out of the window.
        let mut plain = open(&[]);
        assert_eq!(plain.w.seen[0].scale, 0);
        assert_eq!(
            plain.feed(Dir::Reply, &seg(ACK, 6000, 101, 100, 10, &[])),
            INVALID
        );
    }

    #[test]
    fn sack_blocks_count_as_acknowledgement() {
        let sack_perm = [4, 2, 1, 1];
        let mut c = Conn::open(&seg(SYN, 100, 0, 1000, 0, &sack_perm), TcpPolicy::default());
        c.feed(Dir::Reply, &seg(SYN | ACK, 5000, 101, 2000, 0, &sack_perm));
        c.feed(Dir::Original, &seg(ACK, 101, 5001, 1000, 0, &[]));
        // A SACK block's right edge past anything the server sent: INVALID.
        let block = |right: u32| {
            let mut o = vec![1, 1, 5, 10];
            o.extend_from_slice(&5001u32.to_be_bytes());
            o.extend_from_slice(&right.to_be_bytes());
            o
        };
        assert_eq!(
            c.feed(Dir::Original, &seg(ACK, 101, 5001, 1000, 0, &block(9000))),
            INVALID
        );
        assert!(matches!(
            c.feed(Dir::Original, &seg(ACK, 101, 5001, 1000, 0, &block(5001))),
            Judged::Accept { .. }
        ));
    }

    #[test]
    fn rst_sequence_checks() {
        let mut c = Conn::handshake(TcpPolicy::default());
        // Below what the client acknowledged: INVALID.
        assert_eq!(c.feed(Dir::Reply, &seg(RST, 4000, 0, 0, 0, &[])), INVALID);
        // Inexact but in the window: the state stays (a challenge ACK may follow).
        assert_eq!(
            refreshed(c.feed(Dir::Reply, &seg(RST, 5003, 0, 0, 0, &[]))),
            Some(10)
        );
        assert_eq!(c.state, TcpState::Established);
        // Exact: the connection closes.
        assert_eq!(
            refreshed(c.feed(Dir::Reply, &seg(RST, 5001, 0, 0, 0, &[]))),
            Some(10)
        );
        assert_eq!(c.state, TcpState::Close);
    }

    #[test]
    fn only_the_peer_of_a_syn_let_through_may_reset_without_the_window() {
        // A SYN-ACK acknowledging far below the SYN is ignored; the SYN's
        // own side then resets at the number it was given: out of the
        // window, ignored, still SYN_SENT (Linux 6.18).
        let mut c = Conn::open(&seg(SYN, 1_000_000, 0, WIN, 0, &[]), TcpPolicy::default());
        assert_eq!(
            c.feed(Dir::Reply, &seg(SYN | ACK, 5000, 1, WIN, 0, &[])),
            Judged::Ignore
        );
        assert!(c.seen_reply);
        assert_eq!(
            c.feed(Dir::Original, &seg(RST, 1, 0, 0, 0, &[])),
            Judged::Ignore
        );
        assert_eq!(c.state, TcpState::SynSent);
        // A restarted client's SYN: the server's RST answering it closes
        // whatever its sequence number.
        let mut c = Conn::handshake(TcpPolicy::default());
        c.feed(Dir::Original, &seg(SYN, 90_000, 0, WIN, 0, &[]));
        assert!(matches!(
            c.feed(Dir::Reply, &seg(RST, 500_000, 90_001, 0, 0, &[])),
            Judged::Accept { .. }
        ));
        assert_eq!(c.state, TcpState::Close);
    }

    #[test]
    fn repeated_acks_count_as_retransmissions() {
        let mut c = Conn::handshake(TcpPolicy::default());
        let again = seg(ACK, 101, 5001, 1000, 0, &[]);
        assert_eq!(refreshed(c.feed(Dir::Original, &again)), Some(432_000));
        assert_eq!(refreshed(c.feed(Dir::Original, &again)), Some(432_000));
        assert_eq!(refreshed(c.feed(Dir::Original, &again)), Some(300));
        assert_eq!(c.w.retrans, 3);
        // Anything new starts counting again.
        assert_eq!(
            refreshed(c.feed(Dir::Reply, &seg(ACK, 5001, 101, 2000, 0, &[]))),
            Some(432_000)
        );
    }

    #[test]
    fn a_new_syn_resyncs_when_the_peer_answers_it() {
        let mut c = Conn::handshake(TcpPolicy::default());
        // The client restarted: conntrack ignores the SYN ...
        assert_eq!(
            c.feed(Dir::Original, &seg(SYN, 90_000, 0, 1000, 0, &[])),
            Judged::Ignore
        );
        assert_eq!(c.state, TcpState::Established);
        // ... and believes the server's SYN-ACK acknowledging it.
        assert!(matches!(
            c.feed(Dir::Reply, &seg(SYN | ACK, 70_000, 90_001, 2000, 0, &[])),
            Judged::Accept { .. }
        ));
        assert_eq!(c.state, TcpState::SynRecv);
        assert_eq!((c.w.seen[0].end, c.w.seen[1].end), (90_001, 70_001));
    }

    #[test]
    fn a_syn_after_an_orderly_close_reopens() {
        let mut c = Conn::handshake(TcpPolicy::default());
        c.feed(Dir::Original, &seg(FIN | ACK, 101, 5001, 1000, 0, &[]));
        c.feed(Dir::Reply, &seg(FIN | ACK, 5001, 102, 2000, 0, &[]));
        c.feed(Dir::Original, &seg(ACK, 102, 5002, 1000, 0, &[]));
        assert_eq!(c.state, TcpState::TimeWait);
        assert_eq!(
            c.feed(Dir::Original, &seg(SYN, 200, 0, 1000, 0, &[])),
            Judged::Reopen
        );
    }

    #[test]
    fn options_stop_at_malformed_lengths() {
        let mut side = Side::default();
        read_options(&[1, 3, 3, 15, 4, 2], &mut side);
        assert_eq!(
            (side.scale, side.flags),
            (14, flag::WINDOW_SCALE | flag::SACK_PERM)
        );
        let mut side = Side::default();
        read_options(&[3, 1, 7, 4, 2], &mut side);
        assert_eq!((side.scale, side.flags), (0, 0));
        assert_eq!(highest_sack(&[5, 3, 0], 7), 7);
    }
}
