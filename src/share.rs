//! Share links: the whole saved state (lab, actions, clock, open host) in
//! the URL fragment as `#s1.` + base64url(raw DEFLATE(JSON)). Links are
//! untrusted input: the fragment, the inflated bytes and the replay are all
//! capped, and every failure is a message, never a panic.

use crate::session::Saved;

/// Prefix of a version 1 share fragment (after `#`).
pub const PREFIX: &str = "s1.";
/// Longest fragment this playground makes (characters). Longer states are
/// offered as a lab file instead.
pub const MAX_LINK: usize = 60_000;
/// Longest fragment it reads.
pub const MAX_FRAGMENT: usize = 200_000;
/// Most bytes a fragment may inflate to.
pub const MAX_INFLATED: usize = 2 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareError {
    /// The state is too big for a link (the fragment would be this long).
    TooLong(usize),
    /// The link cannot be read: why.
    Bad(String),
}

impl std::fmt::Display for ShareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShareError::TooLong(n) => write!(
                f,
                "This lab is too big for a link ({n} characters; links hold up to {MAX_LINK}). Download it as a file instead."
            ),
            ShareError::Bad(m) => write!(f, "This share link cannot be opened: {m}."),
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// base64url (padding and standard `+/` accepted too).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in s.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return Err(format!("character {} is not base64", i + 1)),
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("the link was cut short".into());
    }
    Ok(out)
}

/// The fragment (without `#`) for a saved state. The page compresses with
/// the browser's own DEFLATE instead ([`state_json`], then [`fragment`]): no
/// compressor in the wasm.
pub fn encode(saved: &Saved) -> Result<String, ShareError> {
    fragment(&miniz_oxide::deflate::compress_to_vec(
        &state_json(saved)?,
        9,
    ))
}

/// The JSON a link holds, before compression.
pub fn state_json(saved: &Saved) -> Result<Vec<u8>, ShareError> {
    serde_json::to_vec(saved).map_err(|e| ShareError::Bad(e.to_string()))
}

/// The fragment (without `#`) for the raw DEFLATE of [`state_json`].
pub fn fragment(packed: &[u8]) -> Result<String, ShareError> {
    let frag = format!("{PREFIX}{}", b64_encode(packed));
    if frag.len() > MAX_LINK {
        return Err(ShareError::TooLong(frag.len()));
    }
    Ok(frag)
}

/// Reads a fragment (with or without `#`). `Ok(None)` when it is no share link at all.
// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn decode(fragment: &str) -> Result<Option<Saved>, ShareError> {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    if f.is_empty() {
        return Ok(None);
    }
    if f.len() > MAX_FRAGMENT {
        return Err(ShareError::Bad(format!(
            "it is {} characters long; the limit is {MAX_FRAGMENT}",
            f.len()
        )));
    }
    let Some(body) = f.strip_prefix(PREFIX) else {
        if f.len() > 1
            && f.as_bytes()[0] == b's'
            && f[1..]
                .split('.')
                .next()
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty())
        {
            return Err(ShareError::Bad(
                "it was made by a newer playground (unknown version)".into(),
            ));
        }
        return Err(ShareError::Bad("it is not a playground link".into()));
    };
    let packed = b64_decode(body).map_err(ShareError::Bad)?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_INFLATED).map_err(|e| {
            ShareError::Bad(match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    format!("its contents are larger than {MAX_INFLATED} bytes")
                }
                _ => "it is damaged or cut short (the compressed data does not decode)".to_string(),
            })
        })?;
    let saved: Saved = serde_json::from_slice(&json)
        .map_err(|e| ShareError::Bad(format!("its contents are not a playground state ({e})")))?;
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Session, SAVED_VERSION};

    #[test]
    fn base64_round_trip() {
        for n in 0..40 {
            let d: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(b64_decode(&b64_encode(&d)).unwrap(), d);
        }
        assert!(b64_decode("a").is_err());
        assert!(b64_decode("ab$").is_err());
    }

    #[test]
    fn round_trip_and_hostile_links() {
        let lab = r#"{"version":1,"links":[{"name":"l"}],"hosts":[{"name":"a","interfaces":[{"name":"eth0","address":"10.0.0.1/24","link":"l"}]}]}"#;
        let mut s = Session::new(lab).unwrap();
        s.submit_line(0, "iptables -A INPUT -j DROP");
        let f = encode(&s.saved(false)).unwrap();
        let back = decode(&format!("#{f}")).unwrap().unwrap();
        assert_eq!(back, s.saved(false));
        assert_eq!(decode("").unwrap(), None);
        for bad in ["#hello", "#s1.", "#s1.@@@", "#s1.AAAA", "#s9.abc"] {
            assert!(matches!(decode(bad), Err(ShareError::Bad(_))), "{bad}");
        }
        // Truncated.
        assert!(decode(&f[..f.len() / 2]).is_err());
        // Too long before decoding.
        assert!(decode(&format!("s1.{}", "A".repeat(MAX_FRAGMENT))).is_err());
        // A zip bomb: small link, huge contents.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; MAX_INFLATED + 10], 9);
        let m = decode(&format!("s1.{}", b64_encode(&bomb)))
            .unwrap_err()
            .to_string();
        assert!(m.contains("larger than"), "{m}");
        // Valid JSON, wrong version: the session says so.
        let mut v = s.saved(false);
        v.v = SAVED_VERSION + 1;
        assert!(Session::restore(&v).is_err());
    }

    /// A teacher's lab: intro, steps and checks, as a share link carries it.
    pub const TEACH_LAB: &str = r#"{
  "version": 1,
  "name": "Close SSH",
  "intro": "A firewall `fw` and a `client`.\n\nClose SSH.",
  "hosts": [
    { "name": "client", "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "l" } ] },
    { "name": "fw", "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "link": "l" } ],
      "services": [ { "proto": "tcp", "port": 22, "service": "ssh" } ] }
  ],
  "links": [ { "name": "l" } ],
  "steps": [
    { "title": "Drop SSH", "text": "Append a DROP rule.", "host": "fw",
      "commands": ["iptables -A INPUT -p tcp --dport 22 -j DROP", "iptables -P INPUT DROP"],
      "look": "The policy line." }
  ],
  "checks": [
    { "id": "pol", "title": "INPUT policy is DROP", "hint": "`iptables -P`",
      "policy": { "host": "fw", "chain": "INPUT", "is": "DROP" } },
    { "id": "ssh", "title": "SSH from client is dropped",
      "reach": { "from": "client", "to": "fw", "proto": "tcp", "port": 22, "expect": "dropped" } }
  ]
}"#;

    #[test]
    fn checks_travel_in_links_teacher_fails_student_passes() {
        // The teacher's link: the lab alone; its checks fail.
        let teacher = Session::new(TEACH_LAB).unwrap();
        let link = encode(&teacher.saved(false)).unwrap();
        let opened = Session::restore(&decode(&link).unwrap().unwrap()).unwrap();
        let lab = opened.lab.as_ref().unwrap();
        assert_eq!(lab.steps.len(), 1);
        assert_eq!(lab.steps[0].commands.len(), 2);
        assert_eq!(lab.checks.len(), 2);
        assert!(lab.intro.contains("Close SSH"));
        assert_eq!(opened.checks.len(), 2);
        assert!(opened.checks.iter().all(|c| !c.pass), "{:?}", opened.checks);
        assert_eq!(opened.checks[0].hint, "`iptables -P`");
        // The student follows the steps and shares: the link proves it.
        let mut student = opened;
        for c in student.lab.clone().unwrap().steps[0].commands.iter() {
            student.submit_line(1, c);
        }
        student.refresh_checks();
        assert!(
            student.checks.iter().all(|c| c.pass),
            "{:?}",
            student.checks
        );
        let link = encode(&student.saved(false)).unwrap();
        let proof = Session::restore(&decode(&link).unwrap().unwrap()).unwrap();
        assert!(proof.checks.iter().all(|c| c.pass), "{:?}", proof.checks);
        assert_eq!(proof.lab_text, TEACH_LAB);
    }

    #[test]
    fn too_long_says_so() {
        let lab = r#"{"version":1,"hosts":[{"name":"a"}]}"#;
        let mut s = Session::new(lab).unwrap();
        // Incompressible comments.
        let mut x = 12345u64;
        for _ in 0..80 {
            let mut c = String::new();
            for _ in 0..1000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                c.push((b'a' + (x >> 59) as u8 % 26) as char);
            }
            s.submit_line(0, &format!("iptables -A INPUT -m comment --comment {c}"));
        }
        assert!(matches!(
            encode(&s.saved(false)),
            Err(ShareError::TooLong(_))
        ));
    }
}
