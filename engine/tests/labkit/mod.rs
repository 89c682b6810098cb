//! Helpers for the lab and tool tests: small labs as JSON and a way to run
//! command lines on their hosts.
#![allow(dead_code)]

use engine::command::script::parse_script;
use engine::command::Output;
use engine::sim::tools;
use engine::sim::world::World;

/// Loads a lab from JSON text (start-up commands run), panicking on errors.
pub fn lab(json: &str) -> World {
    let (world, _, runs) = engine::lab::load(json).expect("lab loads");
    for r in runs {
        assert_eq!(
            r.output.exit, 0,
            "start-up `{}`: {}",
            r.command, r.output.stderr
        );
    }
    world
}

/// Runs a shell-quoted command line on the named host.
pub fn sh(world: &mut World, host: &str, line: &str) -> Output {
    let h = world.host_index(host).expect("host exists");
    let cmds = parse_script(line).expect("command parses");
    let mut out = Output::default();
    for c in &cmds {
        out = tools::run_script_cmd(world, h, c, &|_| Err("No such file or directory".into()));
    }
    out
}

/// Two hosts on a LAN; the server runs ssh and http.
pub const LAN: &str = r#"{
  "version": 1,
  "clock": { "start": "2024-05-01T09:00:00Z" },
  "links": [ { "name": "lan" } ],
  "hosts": [
    { "name": "client",
      "interfaces": [ { "name": "eth0", "address": "10.0.0.1/24", "link": "lan" } ] },
    { "name": "server",
      "interfaces": [ { "name": "eth0", "address": "10.0.0.2/24", "addresses": ["10.0.0.3/24"], "link": "lan" } ],
      "services": [
        { "proto": "tcp", "port": 22, "service": "ssh", "version": "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)" },
        { "proto": "tcp", "port": 80, "service": "http", "version": "nginx/1.22.1", "body": "<h1>hello</h1>\n" },
        { "proto": "udp", "port": 53, "service": "domain" }
      ] }
  ],
  "names": [ { "address": "10.0.0.2", "names": ["server", "www"] } ]
}"#;

/// Client, router (forwarding off), server.
pub const ROUTED: &str = r#"{
  "version": 1,
  "clock": { "start": "2024-05-01T09:00:00Z" },
  "links": [ { "name": "left" }, { "name": "right" } ],
  "hosts": [
    { "name": "client",
      "interfaces": [ { "name": "eth0", "address": "10.1.0.2/24", "link": "left" } ],
      "routes": [ { "to": "default", "via": "10.1.0.1" } ] },
    { "name": "router",
      "interfaces": [
        { "name": "eth0", "address": "10.1.0.1/24", "link": "left" },
        { "name": "eth1", "address": "10.2.0.1/24", "link": "right" } ] },
    { "name": "server",
      "interfaces": [ { "name": "eth0", "address": "10.2.0.2/24", "link": "right" } ],
      "routes": [ { "to": "default", "via": "10.2.0.1" } ],
      "services": [ { "proto": "tcp", "port": 22 } ] }
  ]
}"#;
