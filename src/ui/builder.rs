//! The packet builder: a packet in words (host, protocol, addresses, ports,
//! TCP flags, ICMP type, TTL, count), presets, and Send.

use super::SessRef;
use crate::adapter::{L4Spec, PacketSpec};
use std::net::Ipv4Addr;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct BuilderProps {
    pub sess: SessRef,
    pub open: usize,
    pub on_send: Callback<(String, PacketSpec, u32)>,
}

#[derive(Clone, PartialEq)]
struct Form {
    host: Option<usize>,
    proto: String,
    src: String,
    dst: String,
    sport: String,
    dport: String,
    flags: String,
    icmp_type: String,
    ttl: String,
    count: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            host: None,
            proto: "tcp".into(),
            src: String::new(),
            dst: String::new(),
            sport: "40000".into(),
            dport: "22".into(),
            flags: "S".into(),
            icmp_type: "8".into(),
            ttl: "64".into(),
            count: "1".into(),
        }
    }
}

const FLAGS: [(char, &str); 6] = [
    ('S', "SYN"),
    ('A', "ACK"),
    ('F', "FIN"),
    ('R', "RST"),
    ('P', "PSH"),
    ('U', "URG"),
];

fn num<T: std::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{what}: \"{v}\" is not a valid number"))
}

fn build(f: &Form, src_default: Option<Ipv4Addr>) -> Result<(PacketSpec, u32), String> {
    let src: Ipv4Addr = if f.src.trim().is_empty() {
        src_default.ok_or("the host has no address: give a source")?
    } else {
        f.src
            .trim()
            .parse()
            .map_err(|_| format!("source: \"{}\" is not an IPv4 address", f.src))?
    };
    let dst: Ipv4Addr = f
        .dst
        .trim()
        .parse()
        .map_err(|_| format!("destination: \"{}\" is not an IPv4 address", f.dst))?;
    let l4 = match f.proto.as_str() {
        "tcp" => L4Spec::Tcp {
            sport: num(&f.sport, "source port")?,
            dport: num(&f.dport, "destination port")?,
            flags: f.flags.clone(),
            seq: 1000,
            ack: if f.flags.contains('A') { 1 } else { 0 },
            window: 64240,
        },
        "udp" => L4Spec::Udp {
            sport: num(&f.sport, "source port")?,
            dport: num(&f.dport, "destination port")?,
        },
        _ => L4Spec::Icmp {
            icmp_type: num(&f.icmp_type, "ICMP type")?,
            code: 0,
            id: 1,
            seq: 1,
        },
    };
    let ttl: u8 = num(&f.ttl, "TTL")?;
    let count: u32 = num(&f.count, "count")?;
    if !(1..=100).contains(&count) {
        return Err("count: 1 to 100 packets".into());
    }
    Ok((
        PacketSpec {
            src,
            dst,
            l4,
            ttl,
            tos: 0,
            id: 0,
            payload_len: 0,
        },
        count,
    ))
}

#[function_component(PacketBuilder)]
pub fn packet_builder(p: &BuilderProps) -> Html {
    let form = use_state(Form::default);
    let error = use_state(|| None::<String>);
    let s = p.sess.rc.borrow();
    let hosts = &s.world.hosts;
    if hosts.is_empty() {
        return html! {};
    }
    let hi = form.host.unwrap_or(p.open).min(hosts.len() - 1);
    let primary = |i: usize| {
        hosts[i]
            .ifaces
            .iter()
            .filter(|x| !x.is_loopback())
            .find_map(|x| x.primary())
    };
    let src_default = primary(hi);
    // Another host's address (the last one's: usually the far end) as the default destination.
    let dst_default = (0..hosts.len())
        .rev()
        .filter(|i| *i != hi)
        .find_map(primary)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let dst_value = if form.dst.is_empty() {
        dst_default.clone()
    } else {
        form.dst.clone()
    };

    let set = |f: fn(&mut Form, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_dyn_into::<HtmlInputElement>()
                .map(|i| i.value())
                .or_else(|| e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value()))
                .unwrap_or_default();
            let mut n = (*form).clone();
            f(&mut n, v);
            form.set(n);
        })
    };
    let preset = |proto: &'static str, port: &'static str, flags: &'static str| {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let mut n = (*form).clone();
            n.proto = proto.into();
            n.dport = port.into();
            n.flags = flags.into();
            n.icmp_type = "8".into();
            n.sport = if proto == "udp" {
                "53000".into()
            } else {
                "40000".into()
            };
            form.set(n);
        })
    };
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let on_send = p.on_send.clone();
        let name = hosts[hi].name.clone();
        let dst_value = dst_value.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut f = (*form).clone();
            f.dst = dst_value.clone();
            match build(&f, src_default) {
                Ok((spec, n)) => {
                    error.set(None);
                    on_send.emit((name.clone(), spec, n));
                }
                Err(m) => error.set(Some(m)),
            }
        })
    };
    let flag_boxes = FLAGS.iter().map(|(c, label)| {
        let form = form.clone();
        let c = *c;
        let on = form.flags.contains(c);
        let onchange = Callback::from(move |_: Event| {
            let mut n = (*form).clone();
            if n.flags.contains(c) {
                n.flags = n.flags.replace(c, "");
            } else {
                n.flags.push(c);
            }
            form.set(n);
        });
        html! { <label class="flag"><input type="checkbox" checked={on} {onchange} />{ *label }</label> }
    });
    let addresses: Vec<String> = hosts
        .iter()
        .flat_map(|h| h.ifaces.iter().filter(|i| !i.is_loopback()))
        .flat_map(|i| i.addrs.iter().map(|a| a.addr.to_string()))
        .collect();
    let is_ports = form.proto != "icmp";
    html! {
        <section class="builder" aria-label="Packet builder">
            <h2>{"Packet builder"}</h2>
            <div class="presets" role="group" aria-label="Presets">
                <button type="button" onclick={preset("icmp", "", "")}>{"ping"}</button>
                <button type="button" onclick={preset("tcp", "22", "S")}>{"SYN to port"}</button>
                <button type="button" onclick={preset("udp", "53", "")}>{"DNS"}</button>
                <button type="button" onclick={preset("tcp", "80", "S")}>{"HTTP"}</button>
            </div>
            <form {onsubmit} class="grid-form" data-testid="builder">
                <label>{"From host"}
                    <select aria-label="From host" onchange={
                        let form = form.clone();
                        Callback::from(move |e: Event| {
                            if let Some(s) = e.target_dyn_into::<HtmlSelectElement>() {
                                let mut n = (*form).clone();
                                n.host = s.value().parse().ok();
                                n.src.clear();
                                n.dst.clear();
                                form.set(n);
                            }
                        })
                    }>
                        { for hosts.iter().enumerate().map(|(i, h)| html! {
                            <option value={i.to_string()} selected={i == hi}>{ h.name.clone() }</option>
                        }) }
                    </select>
                </label>
                <label>{"Protocol"}
                    <select aria-label="Protocol" onchange={set(|f, v| f.proto = v)} data-testid="proto">
                        { for ["tcp", "udp", "icmp"].iter().map(|x| html! { <option value={*x} selected={form.proto == *x}>{ *x }</option> }) }
                    </select>
                </label>
                <label>{"Source"}
                    <input aria-label="Source address" value={form.src.clone()} placeholder={src_default.map(|a| a.to_string()).unwrap_or_default()} onchange={set(|f, v| f.src = v)} />
                </label>
                <label>{"Destination"}
                    <input aria-label="Destination address" list="lab-addresses" value={dst_value} onchange={set(|f, v| f.dst = v)} data-testid="dst" />
                </label>
                <datalist id="lab-addresses">{ for addresses.iter().map(|a| html! { <option value={a.clone()} /> }) }</datalist>
                if is_ports {
                    <label>{"Source port"}<input aria-label="Source port" inputmode="numeric" value={form.sport.clone()} onchange={set(|f, v| f.sport = v)} /></label>
                    <label>{"Destination port"}<input aria-label="Destination port" inputmode="numeric" value={form.dport.clone()} onchange={set(|f, v| f.dport = v)} data-testid="dport" /></label>
                } else {
                    <label>{"ICMP type"}
                        <select aria-label="ICMP type" onchange={set(|f, v| f.icmp_type = v)}>
                            { for [("8", "echo request"), ("0", "echo reply"), ("3", "destination unreachable"), ("11", "time exceeded")].iter().map(|(v, l)| html! {
                                <option value={*v} selected={form.icmp_type == *v}>{ *l }</option>
                            }) }
                        </select>
                    </label>
                }
                if form.proto == "tcp" {
                    <fieldset class="flags"><legend>{"TCP flags"}</legend>{ for flag_boxes }</fieldset>
                }
                <label>{"TTL"}<input aria-label="TTL" inputmode="numeric" value={form.ttl.clone()} onchange={set(|f, v| f.ttl = v)} /></label>
                <label>{"Count"}<input aria-label="Count" inputmode="numeric" value={form.count.clone()} onchange={set(|f, v| f.count = v)} /></label>
                <button type="submit" class="primary" data-testid="send">{"Send"}</button>
            </form>
            if let Some(e) = &*error {
                <p class="error" role="alert">{ e.clone() }</p>
            }
        </section>
    }
}
