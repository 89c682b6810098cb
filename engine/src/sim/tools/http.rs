//! `curl` (7.88.1) and `wget` (1.21.3) against simulated web servers: a
//! listener whose service is http-like answers requests with its page
//! (the lab's `body`, or a default page naming the host). Connection
//! failures print what the real tools print.

use super::net::{self, ConnectError, SEC};
use super::util;
use crate::command::Output;
use crate::sim::world::World;

/// Services that speak HTTP.
fn is_web(service: &str) -> bool {
    matches!(
        service,
        "http"
            | "https"
            | "http-alt"
            | "http-proxy"
            | "www"
            | "www-http"
            | "webcache"
            | "https-alt"
    )
}

/// RFC 7231 date (`Sun, 29 Nov 2026 12:47:35 GMT`).
fn http_date(ns: u64) -> String {
    let t = util::tm(ns, 0);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        t.weekday(),
        t.day,
        t.month_name(),
        t.year,
        t.hour,
        t.min,
        t.sec
    )
}

/// Where a web host's files live: `/var/www/html` + the URL path.
pub const DOC_ROOT: &str = "/var/www/html";

/// The media type a web server (nginx's defaults) gives a file by its name.
fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('/')
        .next()
        .and_then(|n| n.rsplit_once('.'))
        .map(|x| x.1);
    match ext {
        Some("html" | "htm") => "text/html",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    }
}

/// What a host's web server on `port` answers to a request, if it is one.
pub fn respond(world: &World, server: usize, port: u16, request: &str) -> Option<Vec<u8>> {
    let l = net::listener(world, server, 6, port)?;
    let host_name = world.hosts[server].name.clone();
    let info = world
        .tools
        .services
        .get(&(host_name.clone(), 6, port))
        .cloned()
        .unwrap_or_default();
    if !is_web(&l.service) && info.body.is_none() {
        return None;
    }
    let line = request.lines().next()?;
    let mut words = line.split_whitespace();
    let method = words.next()?;
    let path = words.next().unwrap_or("/");
    if !matches!(
        method,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" | "PATCH"
    ) {
        return None;
    }
    // Files under the document root first, then the default page.
    let file_path = path.split(['?', '#']).next().unwrap_or("/");
    let served = if file_path.starts_with('/') && !file_path.contains("/../") {
        let file = if file_path.ends_with('/') {
            format!("{DOC_ROOT}{file_path}index.html")
        } else {
            format!("{DOC_ROOT}{file_path}")
        };
        world.hosts[server].files.get(&file).cloned()
    } else {
        None
    };
    let (status, body, content_type) = if let Some(body) = served {
        ("200 OK", body, content_type(file_path))
    } else if file_path == "/" || file_path == "/index.html" {
        (
            "200 OK",
            info.body
                .clone()
                .unwrap_or_else(|| format!("<h1>Hello from {host_name}</h1>\n")),
            "text/html",
        )
    } else {
        (
            "404 Not Found",
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n</body>\r\n</html>\r\n".to_string(),
            "text/html",
        )
    };
    let mut head = format!("HTTP/1.1 {status}\r\n");
    if !info.version.is_empty() {
        head.push_str(&format!("Server: {}\r\n", info.version));
    }
    head.push_str(&format!("Date: {}\r\n", http_date(world.now_ns)));
    head.push_str(&format!("Content-Type: {content_type}\r\n"));
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if status.starts_with("200") {
        head.push_str(&format!(
            "Last-Modified: {}\r\n",
            http_date(world.tools.boot_ns)
        ));
    }
    head.push_str("Connection: keep-alive\r\n\r\n");
    let mut resp = head.into_bytes();
    if method != "HEAD" {
        resp.extend_from_slice(body.as_bytes());
    }
    Some(resp)
}

/// A parsed `http://host[:port][/path]` URL.
struct Url {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(s: &str) -> Result<Url, String> {
    let (scheme, rest) = match s.split_once("://") {
        Some((a, b)) => (a.to_ascii_lowercase(), b),
        None => ("http".to_string(), s),
    };
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        other => return Err(other.to_string()),
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(default_port)),
        None => (hostport.to_string(), default_port),
    };
    Ok(Url {
        scheme,
        host,
        port,
        path,
    })
}

/// curl connected but the request or the answer never arrived: with
/// `-m SECONDS` it gives up when the time is over (exit 28), without it the
/// kernel gives up after its retransmissions (about 15 minutes, exit 56).
fn recv_timeout(
    world: &mut World,
    conn: &net::Conn,
    start: u64,
    max_time: Option<f64>,
) -> (i32, String) {
    match max_time {
        Some(m) => {
            let end = start.saturating_add(util::secs_to_ns(m));
            if end > world.now_ns {
                world.advance(end - world.now_ns);
            }
            net::release(world, conn);
            let ms = (world.now_ns - start) / 1_000_000;
            (
                28,
                format!("Operation timed out after {ms} milliseconds with 0 bytes received"),
            )
        }
        None => {
            world.advance(924 * SEC);
            net::release(world, conn);
            (56, "Recv failure: Connection timed out".into())
        }
    }
}

/// Splits an HTTP response into status line, header lines and body.
fn split_response(resp: &[u8]) -> (String, Vec<String>, Vec<u8>) {
    let text = String::from_utf8_lossy(resp).to_string();
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (text[..i].to_string(), resp[i + 4..].to_vec()),
        None => (text.clone(), Vec::new()),
    };
    let mut lines = head.split("\r\n").map(String::from);
    let status = lines.next().unwrap_or_default();
    (status, lines.collect(), body)
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn curl(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut silent = false;
    let mut show_error = false;
    let mut verbose = false;
    let mut head_only = false;
    let mut include = false;
    let mut out_file: Option<String> = None;
    let mut remote_name = false;
    let mut max_time: Option<f64> = None;
    let mut connect_timeout: Option<f64> = None;
    let mut url: Option<String> = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        let takes = |i: &mut usize| -> Option<String> {
            *i += 1;
            argv.get(*i).cloned()
        };
        match a {
            "-s" | "--silent" => silent = true,
            "-S" | "--show-error" => show_error = true,
            "-sS" | "-Ss" => {
                silent = true;
                show_error = true
            }
            "-v" | "--verbose" => verbose = true,
            "-I" | "--head" => head_only = true,
            "-i" | "--include" => include = true,
            "-O" | "--remote-name" => remote_name = true,
            "-L" | "--location" | "-k" | "--insecure" | "-f" | "--fail" | "-4" => {}
            "-o" | "--output" => out_file = takes(&mut i),
            "-m" | "--max-time" => max_time = takes(&mut i).and_then(|v| util::parse_secs(&v)),
            "--connect-timeout" => {
                connect_timeout = takes(&mut i).and_then(|v| util::parse_secs(&v))
            }
            "-H" | "--header" | "-X" | "--request" | "-A" | "--user-agent" | "-d" | "--data" => {
                takes(&mut i);
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                return Output::err(
                    format!("curl: option {a}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"),
                    2,
                )
            }
            _ => url = Some(a.to_string()),
        }
        i += 1;
    }
    let Some(url_text) = url else {
        return Output::err(
            "curl: try 'curl --help' or 'curl --manual' for more information\n",
            2,
        );
    };
    let mut out = Output::default();
    let fail = |out: &mut Output, code: i32, msg: String| {
        if !silent || show_error {
            out.stderr.push_str(&format!("curl: ({code}) {msg}\n"));
        }
        out.exit = code;
    };
    let url = match parse_url(&url_text) {
        Ok(u) => u,
        Err(scheme) => {
            fail(
                &mut out,
                1,
                format!("Protocol \"{scheme}\" not supported or disabled in libcurl"),
            );
            return out;
        }
    };
    let Some(target) = util::resolve(world, host, &url.host) else {
        fail(&mut out, 6, format!("Could not resolve host: {}", url.host));
        return out;
    };
    let dst = target.addr;
    if verbose {
        out.stderr
            .push_str(&format!("*   Trying {dst}:{}...\n", url.port));
    }
    let limit = match (max_time, connect_timeout) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let start = world.now_ns;
    let conn = net::connect(world, host, dst, url.port, limit.map(util::secs_to_ns));
    let elapsed_ms = |world: &World| (world.now_ns - start) / 1_000_000;
    let mut conn = match conn {
        Ok(c) => c,
        Err(ConnectError::TimedOut) if limit.is_some() => {
            let ms = elapsed_ms(world) + 1;
            if connect_timeout.is_some() && max_time.is_none_or(|m| connect_timeout <= Some(m)) {
                fail(
                    &mut out,
                    28,
                    format!(
                        "Failed to connect to {} port {} after {ms} ms: Timeout was reached",
                        url.host, url.port
                    ),
                );
            } else {
                fail(
                    &mut out,
                    28,
                    format!("Connection timed out after {ms} milliseconds"),
                );
            }
            return out;
        }
        Err(e) => {
            let ms = elapsed_ms(world);
            let code = if e == ConnectError::TimedOut { 28 } else { 7 };
            if verbose {
                out.stderr.push_str(&format!(
                    "* connect to {dst} port {} failed: {}\n",
                    url.port,
                    e.text()
                ));
            }
            fail(
                &mut out,
                code,
                format!(
                    "Failed to connect to {} port {} after {ms} ms: Couldn't connect to server",
                    url.host, url.port
                ),
            );
            return out;
        }
    };
    if verbose {
        out.stderr.push_str(&format!(
            "* Connected to {} ({dst}) port {} (#0)\n",
            url.host, url.port
        ));
    }
    let method = if head_only { "HEAD" } else { "GET" };
    let host_header = if url.port == 80 || url.port == 443 && url.scheme == "https" {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let request = format!(
        "{method} {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        url.path
    );
    if verbose {
        for l in request.trim_end_matches("\r\n").split("\r\n") {
            out.stderr.push_str(&format!("> {l}\n"));
        }
        out.stderr.push_str("> \n");
    }
    if !net::deliver(world, &mut conn, true, request.as_bytes()) {
        let (code, msg) = recv_timeout(world, &conn, start, max_time);
        fail(&mut out, code, msg);
        return out;
    }
    let server = conn.server.host;
    let Some(resp) = respond(world, server, conn.server.lport, &request) else {
        net::close(world, conn);
        fail(&mut out, 52, "Empty reply from server".into());
        return out;
    };
    if !net::deliver(world, &mut conn, false, &resp) {
        let (code, msg) = recv_timeout(world, &conn, start, max_time);
        fail(&mut out, code, msg);
        return out;
    }
    net::close(world, conn);
    let (status, headers, body) = split_response(&resp);
    if verbose {
        out.stderr.push_str(&format!("< {status}\n"));
        for h in &headers {
            out.stderr.push_str(&format!("< {h}\n"));
        }
        out.stderr.push_str("< \n");
    }
    let mut shown = Vec::new();
    if head_only || include {
        let mut head = format!("{status}\r\n");
        for h in &headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        shown.extend_from_slice(head.as_bytes());
    }
    if !head_only {
        shown.extend_from_slice(&body);
    }
    if verbose {
        out.stderr.push_str(&format!(
            "* Connection #0 to host {} left intact\n",
            url.host
        ));
    }
    let file = out_file.or_else(|| {
        remote_name.then(|| {
            url.path
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("index.html")
                .to_string()
        })
    });
    let text = String::from_utf8_lossy(&shown).to_string();
    match file {
        Some(f) if f != "-" => {
            world.hosts[host].files.insert(f, text);
        }
        _ => out.stdout.push_str(&text),
    }
    out
}

/// wget's rate text: `1.38 MB/s` (final line) or `1.38M` (dot line).
fn rate(bytes: u64, ns: u64, short: bool) -> String {
    let secs = (ns.max(1_000) as f64) / 1e9;
    let mut r = bytes as f64 / secs;
    let units = if short {
        ["B", "K", "M", "G"]
    } else {
        ["B/s", "KB/s", "MB/s", "GB/s"]
    };
    let mut u = 0;
    while r >= 1024.0 && u < 3 {
        r /= 1024.0;
        u += 1;
    }
    let prec = if r >= 99.95 {
        0
    } else if r >= 9.995 {
        1
    } else {
        2
    };
    if short {
        format!("{}{}", crate::decimal::fixed(r, prec), units[u])
    } else {
        format!("{} {}", crate::decimal::fixed(r, prec), units[u])
    }
}

// The web build moves this into the module fetched on first use (scripts/split-wasm.mjs).
#[inline(never)]
pub fn wget(world: &mut World, host: usize, argv: &[String]) -> Output {
    let mut quiet = false;
    let mut out_doc: Option<String> = None;
    let mut timeout: Option<f64> = None;
    let mut tries: u32 = 20;
    let mut url: Option<String> = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        let mut value = |name: &str| -> Option<String> {
            if a == name {
                i += 1;
                argv.get(i).cloned()
            } else {
                a.strip_prefix(name)
                    .map(|v| v.trim_start_matches('=').to_string())
            }
        };
        if a == "-q" || a == "--quiet" {
            quiet = true;
        } else if let Some(v) = value("-O").or_else(|| value("--output-document")) {
            out_doc = Some(v);
        } else if let Some(v) = value("-T").or_else(|| value("--timeout")) {
            timeout = util::parse_secs(&v);
        } else if let Some(v) = value("-t").or_else(|| value("--tries")) {
            // 0 means "forever"; the lab stops at 100 tries.
            tries = v.parse().unwrap_or(20);
            if tries == 0 || tries > 100 {
                tries = 100;
            }
        } else if a.starts_with('-') && a.len() > 1 {
            if a == "-nv" || a == "--no-verbose" || a == "-4" || a == "-S" {
                i += 1;
                continue;
            }
            return Output::err(
                format!("wget: invalid option -- '{}'\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n", a.trim_start_matches('-')),
                2,
            );
        } else {
            url = Some(a.to_string());
        }
        i += 1;
    }
    let Some(url_text) = url else {
        return Output::err(
            "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n",
            1,
        );
    };
    let mut out = Output::default();
    let mut log = String::new();
    let url = match parse_url(&url_text) {
        Ok(u) => u,
        Err(_) => {
            log.push_str(&format!("{url_text}: Unsupported scheme.\n"));
            out.stderr = if quiet { String::new() } else { log };
            out.exit = 1;
            return out;
        }
    };
    let full = format!(
        "{}://{}{}{}",
        url.scheme,
        url.host,
        if (url.scheme == "http" && url.port == 80) || (url.scheme == "https" && url.port == 443) {
            String::new()
        } else {
            format!(":{}", url.port)
        },
        url.path
    );
    let stamp = |world: &World| util::iso_seconds(&util::local(world, host, world.now_ns));
    log.push_str(&format!("--{}--  {full}\n", stamp(world)));
    let target = util::resolve(world, host, &url.host);
    let numeric = util::parse_addr(&url.host).is_some();
    if !numeric {
        match &target {
            Some(t) => log.push_str(&format!(
                "Resolving {} ({})... {}\n",
                url.host, url.host, t.addr
            )),
            None => {
                log.push_str(&format!(
                    "Resolving {} ({})... failed: Name or service not known.\nwget: unable to resolve host address ‘{}’\n",
                    url.host, url.host, url.host
                ));
                out.stderr = if quiet { String::new() } else { log };
                out.exit = 4;
                return out;
            }
        }
    }
    let Some(target) = target else {
        out.exit = 4;
        return out;
    };
    let connecting = if numeric {
        format!("Connecting to {}:{}... ", target.addr, url.port)
    } else {
        format!(
            "Connecting to {} ({})|{}|:{}... ",
            url.host, url.host, target.addr, url.port
        )
    };
    let mut attempt = 1;
    let conn = loop {
        log.push_str(&connecting);
        match net::connect(
            world,
            host,
            target.addr,
            url.port,
            timeout.map(util::secs_to_ns),
        ) {
            Ok(c) => {
                log.push_str("connected.\n");
                break Some(c);
            }
            Err(e) => {
                log.push_str(&format!("failed: {}.\n", e.text()));
                if e == ConnectError::Refused || attempt >= tries {
                    if e != ConnectError::Refused {
                        log.push_str("Giving up.\n\n");
                    }
                    break None;
                }
                log.push_str("Retrying.\n\n");
                world.advance(u64::from(attempt.min(10)) * SEC);
                attempt += 1;
                log.push_str(&format!(
                    "--{}--  (try:{:>2})  {full}\n",
                    stamp(world),
                    attempt
                ));
            }
        }
    };
    let Some(mut conn) = conn else {
        out.stderr = if quiet { String::new() } else { log };
        out.exit = 4;
        return out;
    };
    let host_header = if url.port == 80 {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: Wget/1.21.3\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: Keep-Alive\r\n\r\n",
        url.path
    );
    log.push_str("HTTP request sent, awaiting response... ");
    let sent_at = world.now_ns;
    let resp = if net::deliver(world, &mut conn, true, request.as_bytes()) {
        respond(world, conn.server.host, conn.server.lport, &request)
            .filter(|r| net::deliver(world, &mut conn, false, r))
    } else {
        None
    };
    let Some(resp) = resp else {
        net::close(world, conn);
        log.push_str("No data received.\nRetrying.\n\n");
        out.stderr = if quiet { String::new() } else { log };
        out.exit = 4;
        return out;
    };
    let took = world.now_ns - sent_at;
    net::close(world, conn);
    let (status, headers, body) = split_response(&resp);
    let code_text = status
        .split_once(' ')
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    log.push_str(&format!("{code_text}\n"));
    if !code_text.starts_with("200") {
        log.push_str(&format!(
            "{} ERROR {}.\n\n",
            stamp(world),
            code_text.replacen(' ', ": ", 1)
        ));
        out.stderr = if quiet { String::new() } else { log };
        out.exit = 8;
        return out;
    }
    let len = body.len() as u64;
    let ctype = headers
        .iter()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("text/html")
        .trim()
        .to_string();
    if len >= 1024 {
        log.push_str(&format!("Length: {len} ({}) [{ctype}]\n", human_size(len)));
    } else {
        log.push_str(&format!("Length: {len} [{ctype}]\n"));
    }
    let to_stdout = out_doc.as_deref() == Some("-");
    let file = match &out_doc {
        Some(f) => f.clone(),
        None => {
            let base = url
                .path
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("index.html")
                .to_string();
            let files = &world.hosts[host].files;
            if !files.contains_key(&base) {
                base
            } else {
                (1..)
                    .map(|n| format!("{base}.{n}"))
                    .find(|n| !files.contains_key(n))
                    .unwrap_or(base)
            }
        }
    };
    log.push_str(&format!(
        "Saving to: ‘{}’\n\n",
        if to_stdout { "STDOUT" } else { &file }
    ));
    let dots = (len / 1024).min(50) as usize;
    let mut line = format!("{:>6}K", 0);
    for g in 0..5 {
        line.push(' ');
        for d in 0..10 {
            line.push(if g * 10 + d < dots { '.' } else { ' ' });
        }
    }
    log.push_str(&format!("{line}100% {}=0s\n\n", rate(len, took, true)));
    let text = String::from_utf8_lossy(&body).to_string();
    if to_stdout {
        out.stdout = text;
        log.push_str(&format!(
            "{} ({}) - written to stdout [{len}/{len}]\n\n",
            stamp(world),
            rate(len, took, false)
        ));
    } else {
        if file != "/dev/null" {
            world.hosts[host].files.insert(file.clone(), text);
        }
        log.push_str(&format!(
            "{} ({}) - ‘{file}’ saved [{len}/{len}]\n\n",
            stamp(world),
            rate(len, took, false)
        ));
    }
    out.stderr = if quiet { String::new() } else { log };
    out
}

/// wget's short sizes: `1.2K`, `11K`, `3.4M`.
fn human_size(n: u64) -> String {
    let mut v = n as f64;
    for unit in ["K", "M", "G", "T"] {
        v /= 1024.0;
        if v < 1024.0 || unit == "T" {
            return if v < 10.0 {
                format!(
                    "{}{unit}",
                    crate::decimal::fixed((v * 10.0).round() / 10.0, 1)
                )
            } else {
                format!("{}{unit}", v.round() as u64)
            };
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_rates() {
        let u = parse_url("http://server:8080/a/b.html").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("server", 8080, "/a/b.html")
        );
        let u = parse_url("10.0.0.2").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert!(parse_url("ftp://x/").is_err());
        assert_eq!(rate(15, 10_000, false), "1.43 MB/s");
        assert_eq!(rate(15, 10_000, true), "1.43M");
    }
}
