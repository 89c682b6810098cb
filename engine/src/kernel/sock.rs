//! The nfnetlink socket: single requests, dumps, and batches with one ack or
//! error per message; `--netns` opens the socket inside a named namespace.

use super::msg::{self, Msg};
use super::nla;
use super::{Error, KernelRefusal, Result};
use netlink_packet_core::{NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use std::os::fd::AsRawFd;

const ERESTART: i32 = 85;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const RECV_BUF: usize = 1 << 20;

/// An open nfnetlink socket.
pub struct NfSock {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// The namespace it was opened in (`--netns`), for [`NfSock::sibling`].
    netns: Option<String>,
}

/// What the kernel answered to one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Ok,
    Err {
        errno: i32,
        msg: Option<String>,
    },
    /// Nothing came back (the batch stopped before it).
    Missing,
}

/// The answer to a whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every message was accepted (and, unless checking only, committed).
    Done,
    /// The generation id was stale: nothing was applied.
    Restart,
    /// Some messages were refused: nothing was applied. One answer per message.
    Failed(Vec<Answer>),
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    if e.raw_os_error() == Some(libc::EPERM) {
        Error::Permission
    } else {
        Error::Io(what.to_string(), e)
    }
}

/// One parsed netlink message.
struct Reply {
    kind: u16,
    flags: u16,
    seq: u32,
    payload: Vec<u8>,
}

impl NfSock {
    /// Opens a socket in the caller's network namespace.
    pub fn open() -> Result<NfSock> {
        let mut sock = Socket::new(NETLINK_NETFILTER).map_err(|e| io_err("netlink socket", e))?;
        sock.bind_auto().map_err(|e| io_err("netlink bind", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| io_err("netlink connect", e))?;
        // Error answers carry the kernel's message and not our whole request.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        // Room for one ack per message of a large batch.
        let size: libc::c_int = 8 << 20;
        // SAFETY: setsockopt with a valid fd and a pointer to an int of the given size.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &size as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        // A request the kernel never answers must not hang us.
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        // SAFETY: setsockopt with a valid fd and a pointer to a timeval.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &timeout as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1);
        Ok(NfSock {
            sock,
            seq,
            buf: Vec::with_capacity(RECV_BUF),
            netns: None,
        })
    }

    /// Opens a socket inside the network namespace `/run/netns/NAME`: a
    /// thread enters it and opens the socket, which stays bound to it.
    pub fn open_in_netns(name: &str) -> Result<NfSock> {
        if name.is_empty() || name.contains('/') {
            return Err(Error::Netns(
                name.to_string(),
                std::io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        let path = format!("/run/netns/{name}");
        let file = std::fs::File::open(&path).map_err(|e| Error::Netns(name.to_string(), e))?;
        let owned = name.to_string();
        std::thread::spawn(move || -> Result<NfSock> {
            // SAFETY: setns on a valid namespace fd affects only this thread.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EPERM) {
                    return Err(Error::Permission);
                }
                return Err(Error::Netns(owned, e));
            }
            NfSock::open().map(|mut s| {
                s.netns = Some(owned);
                s
            })
        })
        .join()
        .map_err(|_| {
            Error::Netns(
                name.to_string(),
                std::io::Error::other("namespace thread failed"),
            )
        })?
    }

    /// Opens in `netns` if given, else here.
    pub fn open_at(netns: Option<&str>) -> Result<NfSock> {
        match netns {
            Some(n) => NfSock::open_in_netns(n),
            None => NfSock::open(),
        }
    }

    /// Another socket in the same namespace (for dumps made side by side).
    pub fn sibling(&self) -> Result<NfSock> {
        NfSock::open_at(self.netns.as_deref())
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > 64 << 10 {
            // A batch goes in one datagram: make room for it, as
            // iptables-nft does (the kernel adds its own overhead).
            let size = (bytes.len() + (64 << 10)).min(i32::MAX as usize) as libc::c_int;
            // SAFETY: setsockopt with a valid fd and a pointer to an int of the given size.
            unsafe {
                libc::setsockopt(
                    self.sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUFFORCE,
                    &size as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        let n = self
            .sock
            .send(bytes, 0)
            .map_err(|e| io_err("netlink send", e))?;
        if n != bytes.len() {
            return Err(Error::Io(
                "netlink send".into(),
                std::io::Error::other("short write"),
            ));
        }
        Ok(())
    }

    /// Receives one datagram and splits it into messages. `None` when
    /// nothing is waiting and `nowait`.
    fn recv(&mut self, nowait: bool) -> Result<Option<Vec<Reply>>> {
        self.buf.clear();
        let flags = if nowait { libc::MSG_DONTWAIT } else { 0 };
        match self.sock.recv(&mut self.buf, flags) {
            Ok(_) => {}
            Err(e) if nowait && e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Error::Io(
                    "netlink receive".into(),
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer from the kernel"),
                ))
            }
            Err(e) => return Err(io_err("netlink receive", e)),
        }
        let mut out = Vec::new();
        let mut off = 0;
        while off + 16 <= self.buf.len() {
            let nl = NetlinkBuffer::new_checked(&self.buf[off..])
                .map_err(|e| Error::Decode(e.to_string()))?;
            let len = nl.length() as usize;
            out.push(Reply {
                kind: nl.message_type(),
                flags: nl.flags(),
                seq: nl.sequence_number(),
                payload: nl.payload().to_vec(),
            });
            off += (len + 3) & !3;
            if len == 0 {
                break;
            }
        }
        Ok(Some(out))
    }

    /// Sends a dump request and hands the attribute block of every answer
    /// (after the nfgenmsg header) to `each`, straight from the receive
    /// buffer: a dump of a large ruleset is read without a copy per message.
    pub fn dump_each(&mut self, m: &Msg, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let seq = self.next_seq();
        self.send(&m.to_bytes(seq))?;
        loop {
            self.buf.clear();
            match self.sock.recv(&mut self.buf, 0) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Error::Io(
                        "netlink receive".into(),
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no answer from the kernel",
                        ),
                    ))
                }
                Err(e) => return Err(io_err("netlink receive", e)),
            }
            let mut off = 0;
            while off + 16 <= self.buf.len() {
                let nl = NetlinkBuffer::new_checked(&self.buf[off..])
                    .map_err(|e| Error::Decode(e.to_string()))?;
                let len = nl.length() as usize;
                if nl.sequence_number() == seq {
                    match nl.message_type() {
                        NLMSG_DONE => return Ok(()),
                        NLMSG_ERROR => {
                            let r = Reply {
                                kind: NLMSG_ERROR,
                                flags: nl.flags(),
                                seq,
                                payload: nl.payload().to_vec(),
                            };
                            let (errno, text) = parse_error(&r)?;
                            if errno == 0 {
                                return Ok(());
                            }
                            if errno == libc::EPERM {
                                return Err(Error::Permission);
                            }
                            return Err(Error::Kernel(KernelRefusal {
                                errno,
                                msg: text,
                                what: format!("request {}", m.nft_type()),
                            }));
                        }
                        _ => each(nl.payload().get(4..).unwrap_or_default())?,
                    }
                }
                off += (len + 3) & !3;
                if len == 0 {
                    break;
                }
            }
        }
    }

    /// Sends a GET request and collects the attribute blocks of every answer
    /// (all parts of a dump).
    pub fn request(&mut self, m: &Msg) -> Result<Vec<Vec<u8>>> {
        let seq = self.next_seq();
        self.send(&m.to_bytes(seq))?;
        let dump = m.flags & msg::NLM_F_DUMP == msg::NLM_F_DUMP;
        let mut out = Vec::new();
        loop {
            let Some(replies) = self.recv(false)? else {
                continue;
            };
            for r in replies {
                if r.seq != seq {
                    continue;
                }
                match r.kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let (errno, text) = parse_error(&r)?;
                        if errno == 0 {
                            return Ok(out);
                        }
                        if errno == libc::EPERM {
                            return Err(Error::Permission);
                        }
                        return Err(Error::Kernel(KernelRefusal {
                            errno,
                            msg: text,
                            what: format!("request {}", m.nft_type()),
                        }));
                    }
                    _ => {
                        // Skip the nfgenmsg header.
                        out.push(r.payload.get(4..).unwrap_or_default().to_vec());
                        if !dump {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }

    /// Sends `msgs` (each asking for an ack) in one datagram, outside any
    /// batch, and collects one answer per message: the kernel handles them
    /// one after the other, each on its own.
    pub fn send_many(&mut self, msgs: &[Msg]) -> Result<Vec<Answer>> {
        let mut bytes = Vec::new();
        let mut seqs = Vec::with_capacity(msgs.len());
        // Errors always come back; a success ack is asked only of the last
        // message (one per message would overflow the socket's buffer on
        // large batches): its ack says the kernel went through them all.
        for (k, m) in msgs.iter().enumerate() {
            let seq = self.next_seq();
            seqs.push(seq);
            let mut m = m.clone();
            if k + 1 == msgs.len() {
                m.flags |= msg::NLM_F_ACK;
            } else {
                m.flags &= !msg::NLM_F_ACK;
            }
            bytes.extend(m.to_bytes(seq));
        }
        self.send(&bytes)?;
        let first = seqs.first().copied().unwrap_or(0);
        let mut answers = vec![Answer::Missing; msgs.len()];
        let mut got = 0;
        while got < msgs.len() {
            // Every message asked for an ack: wait for the ones not there
            // yet (the socket's receive timeout bounds the wait).
            let replies = match self.recv(true)? {
                Some(r) => r,
                None => match self.recv(false)? {
                    Some(r) => r,
                    None => break,
                },
            };
            for r in replies {
                if r.kind != NLMSG_ERROR {
                    continue;
                }
                let Some(i) = r.seq.checked_sub(first).map(|d| d as usize) else {
                    continue;
                };
                if i >= answers.len() || answers[i] != Answer::Missing {
                    continue;
                }
                let (errno, text) = parse_error(&r)?;
                if errno == libc::EPERM {
                    return Err(Error::Permission);
                }
                answers[i] = if errno == 0 {
                    Answer::Ok
                } else {
                    Answer::Err { errno, msg: text }
                };
                got += 1;
            }
        }
        Ok(answers)
    }

    /// The current ruleset generation id.
    pub fn genid(&mut self) -> Result<u32> {
        let answers = self.request(&msg::get(msg::NFT_MSG_GETGEN, msg::AF_UNSPEC, false))?;
        let first = answers
            .first()
            .ok_or_else(|| Error::Decode("no answer to GETGEN".into()))?;
        msg::parse_genid(first)
    }

    /// Sends `msgs` as one batch checked against `genid`, every message
    /// asking for an ack. With `commit` false the batch has no BATCH_END:
    /// the kernel checks every message and then aborts (nothing changes).
    pub fn batch(&mut self, genid: u32, msgs: &[Msg], commit: bool) -> Result<BatchOutcome> {
        self.batch_inner(genid, msgs, commit, None)
    }

    /// A committed batch whose messages may ask for an echo (NLM_F_ECHO):
    /// the handle of each rule the kernel echoed back, by message.
    pub fn batch_echo(
        &mut self,
        genid: u32,
        msgs: &[Msg],
    ) -> Result<(BatchOutcome, Vec<Option<u64>>)> {
        let mut handles = vec![None; msgs.len()];
        let out = self.batch_inner(genid, msgs, true, Some(&mut handles))?;
        Ok((out, handles))
    }

    fn batch_inner(
        &mut self,
        genid: u32,
        msgs: &[Msg],
        commit: bool,
        mut echo: Option<&mut Vec<Option<u64>>>,
    ) -> Result<BatchOutcome> {
        let size: usize = msgs.iter().map(Msg::wire_len).sum();
        let mut bytes = Vec::with_capacity(size + 64);
        let begin_seq = self.next_seq();
        bytes.extend(msg::batch_begin(genid).to_bytes(begin_seq));
        let mut seqs = Vec::with_capacity(msgs.len());
        // Errors always come back; a success ack is asked only of the last
        // message (one per message would overflow the socket's buffer on
        // large batches): its ack says the kernel went through them all.
        for (k, m) in msgs.iter().enumerate() {
            let seq = self.next_seq();
            seqs.push(seq);
            let flags = if k + 1 == msgs.len() {
                m.flags | msg::NLM_F_ACK
            } else {
                m.flags & !msg::NLM_F_ACK
            };
            m.write_to(&mut bytes, seq, flags);
        }
        if commit {
            let seq = self.next_seq();
            bytes.extend(msg::batch_end().to_bytes(seq));
        }
        self.send(&bytes)?;
        let first = seqs.first().copied().unwrap_or(begin_seq);
        let mut answers = vec![Answer::Missing; msgs.len()];
        let mut last_answered = msgs.is_empty();
        let mut failed = false;
        // The kernel handles the whole batch inside sendmsg: every answer
        // is queued by now. Read until the last message is answered or
        // nothing more waits; echoed rules come with the commit, after the
        // acks: with echoes, read on until nothing more waits.
        while !last_answered || echo.is_some() {
            let Some(replies) = self.recv(true)? else {
                break;
            };
            for r in replies {
                if r.kind != NLMSG_ERROR {
                    // Only the rules echoed: the commit's NEWGEN comes
                    // with the last message's sequence number too.
                    let rule = msg::NFNL_SUBSYS_NFTABLES << 8 | msg::NFT_MSG_NEWRULE as u16;
                    if let (Some(h), Some(i), true) = (
                        echo.as_deref_mut(),
                        r.seq.checked_sub(first),
                        r.kind == rule,
                    ) {
                        if let (Some(slot @ None), Some(body)) =
                            (h.get_mut(i as usize), r.payload.get(4..))
                        {
                            if let Ok((_, _, handle)) = msg::parse_rule_head(body) {
                                *slot = Some(handle);
                            }
                        }
                    }
                    continue;
                }
                let (errno, text) = parse_error(&r)?;
                if r.seq == begin_seq {
                    if errno == ERESTART {
                        return Ok(BatchOutcome::Restart);
                    }
                    if errno == libc::EPERM {
                        return Err(Error::Permission);
                    }
                    if errno != 0 {
                        return Err(Error::Kernel(KernelRefusal {
                            errno,
                            msg: text,
                            what: "the batch".into(),
                        }));
                    }
                    continue;
                }
                let Some(i) = r.seq.checked_sub(first).map(|d| d as usize) else {
                    continue;
                };
                if i >= answers.len() {
                    continue;
                }
                if errno == 0 {
                    answers[i] = Answer::Ok;
                } else {
                    if errno == libc::EPERM {
                        return Err(Error::Permission);
                    }
                    failed = true;
                    answers[i] = Answer::Err { errno, msg: text };
                }
                if i + 1 == msgs.len() {
                    last_answered = true;
                }
            }
        }
        if failed || !last_answered {
            // Messages not refused went through (the kernel answers only
            // errors for them).
            let n = answers.len();
            for (k, a) in answers.iter_mut().enumerate() {
                if *a == Answer::Missing && (k + 1 < n || last_answered) {
                    *a = Answer::Ok;
                }
            }
            return Ok(BatchOutcome::Failed(answers));
        }
        Ok(BatchOutcome::Done)
    }
}

/// errno (positive) and the extended ack message of an NLMSG_ERROR.
fn parse_error(r: &Reply) -> Result<(i32, Option<String>)> {
    let p = &r.payload;
    let code: [u8; 4] = p
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::Decode("short error message".into()))?;
    let errno = -i32::from_ne_bytes(code);
    let mut text = None;
    if r.flags & NLM_F_ACK_TLVS != 0 {
        // The request's header follows (and its payload unless capped).
        let orig_len = p
            .get(4..8)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_ne_bytes)
            .unwrap_or(16) as usize;
        let skip = if r.flags & NLM_F_CAPPED != 0 {
            4 + 16
        } else {
            4 + ((orig_len + 3) & !3)
        };
        if let Some(tlvs) = p.get(skip..) {
            if let Ok(attrs) = nla::parse(tlvs) {
                text = nla::find(&attrs, NLMSGERR_ATTR_MSG).map(|a| a.str());
            }
        }
    }
    Ok((errno, text))
}
