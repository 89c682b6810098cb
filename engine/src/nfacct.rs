//! nfacct accounting objects (`nfacct add/list/get/delete`), which `-m nfacct` rules name.

use crate::command::Output;
use crate::sim::host::Host;

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub objects: Vec<Object>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub name: String,
    pub packets: u64,
    pub bytes: u64,
}

impl Store {
    pub fn exists(&self, name: &str) -> bool {
        self.objects.iter().any(|o| o.name == name)
    }
}

/// `nfacct add NAME`, `nfacct list`, `nfacct get NAME`, `nfacct delete NAME`.
pub fn run(host: &mut Host, argv: &[String]) -> Output {
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    match args.as_slice() {
        ["add", name] => {
            if host.nfacct.exists(name) {
                return Output::err(
                    "nfacct v1.0.2: Error: Device or resource busy\n".to_string(),
                    1,
                );
            }
            host.nfacct.objects.push(Object {
                name: name.to_string(),
                packets: 0,
                bytes: 0,
            });
            Output::default()
        }
        ["delete", name] | ["del", name] => {
            let before = host.nfacct.objects.len();
            host.nfacct.objects.retain(|o| o.name != *name);
            if host.nfacct.objects.len() == before {
                return Output::err("nfacct v1.0.2: Error: No such file or directory\n", 1);
            }
            Output::default()
        }
        ["list"] | ["list", "reset"] => {
            let mut out = String::new();
            for o in &host.nfacct.objects {
                out.push_str(&line(o));
            }
            if args.len() == 2 {
                host.nfacct.objects.iter_mut().for_each(|o| {
                    o.packets = 0;
                    o.bytes = 0;
                });
            }
            Output::ok(out)
        }
        ["get", name] => match host.nfacct.objects.iter().find(|o| o.name == *name) {
            Some(o) => Output::ok(line(o)),
            None => Output::err("nfacct v1.0.2: Error: No such file or directory\n", 1),
        },
        _ => Output::err(
            "nfacct v1.0.2: Unknown command: use `nfacct help'\n".to_string(),
            1,
        ),
    }
}

fn line(o: &Object) -> String {
    format!(
        "{{ pkts = {:020}, bytes = {:020} }} = {};\n",
        o.packets, o.bytes, o.name
    )
}
