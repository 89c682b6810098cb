//! The lab's topology as SVG: hosts with their interfaces and addresses,
//! and the links (L2 segments) joining them. Click (or Enter on) a host to
//! work on it.

use super::SessRef;
use yew::prelude::*;

/// An SVG coordinate: whole, or to a tenth (not through f64's `Display`,
/// which would bring the float formatter into the page for this alone).
fn coord(v: f64) -> String {
    let s = engine::decimal::fixed(v, 1);
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

#[derive(Properties, PartialEq)]
pub struct TopoProps {
    pub sess: SessRef,
    pub open: usize,
    pub on_open: Callback<usize>,
}

const HOST_W: f64 = 150.0;
const COL: f64 = 170.0;
const LINE: f64 = 14.0;

#[function_component(Topology)]
pub fn topology(p: &TopoProps) -> Html {
    let s = p.sess.rc.borrow();
    let w = &s.world;
    let n = w.hosts.len().max(1);
    let width = (n as f64 * COL).max(340.0);
    let left = (width - n as f64 * COL) / 2.0;
    let host_x: Vec<f64> = (0..w.hosts.len())
        .map(|i| left + COL / 2.0 + i as f64 * COL)
        .collect();
    let ifaces_of = |i: usize| {
        w.hosts[i]
            .ifaces
            .iter()
            .filter(|x| !x.is_loopback())
            .collect::<Vec<_>>()
    };
    let max_ifs = (0..w.hosts.len())
        .map(|i| ifaces_of(i).len())
        .max()
        .unwrap_or(0);
    let host_y = 8.0;
    let host_h = 26.0 + LINE * max_ifs as f64;
    let link_y = host_y + host_h + 60.0;
    let height = link_y + 26.0;
    // A link sits under the hosts it joins.
    let link_x: Vec<f64> = w
        .links
        .iter()
        .map(|l| {
            if l.ends.is_empty() {
                width / 2.0
            } else {
                l.ends.iter().map(|(h, _)| host_x[*h]).sum::<f64>() / l.ends.len() as f64
            }
        })
        .collect();
    let mut edges = Vec::new();
    for (li, l) in w.links.iter().enumerate() {
        for (h, ifname) in &l.ends {
            let (x1, y1) = (host_x[*h], host_y + host_h);
            let (x2, y2) = (link_x[li], link_y - 11.0);
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            edges.push(html! {
                <g class="edge">
                    <line x1={coord(x1)} y1={coord(y1)} x2={coord(x2)} y2={coord(y2)} />
                    <text x={coord(mx)} y={coord(my + 4.0)} class="if-label" text-anchor="middle">{ ifname.clone() }</text>
                </g>
            });
        }
    }
    let links = w.links.iter().enumerate().map(|(li, l)| {
        let x = link_x[li];
        html! {
            <g class="link">
                <title>{ format!("link {}", l.name) }</title>
                <rect x={coord(x - 42.0)} y={coord(link_y - 11.0)} width="84" height="22" rx="11" />
                <text x={coord(x)} y={coord(link_y + 4.0)} text-anchor="middle">{ l.name.clone() }</text>
            </g>
        }
    });
    let hosts = w.hosts.iter().enumerate().map(|(i, h)| {
        let x = host_x[i];
        let on_open = p.on_open.clone();
        let onclick = Callback::from(move |_: MouseEvent| on_open.emit(i));
        let on_open = p.on_open.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                on_open.emit(i);
            }
        });
        let lines: Vec<String> = ifaces_of(i)
            .iter()
            .map(|f| {
                let a = f
                    .addrs
                    .first()
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .unwrap_or_else(|| "no address".into());
                format!("{} {a}", f.name)
            })
            .collect();
        let class = if i == p.open { "host open" } else { "host" };
        html! {
            <g class={class} tabindex="0" role="button" data-host={h.name.clone()}
               aria-pressed={(i == p.open).to_string()}
               aria-label={format!("host {}: {}", h.name, lines.join(", "))}
               {onclick} {onkeydown}>
                <rect x={coord(x - HOST_W / 2.0)} y={coord(host_y)} width={coord(HOST_W)} height={coord(host_h)} rx="6" />
                <text x={coord(x)} y={coord(host_y + 18.0)} text-anchor="middle" class="host-name">{ h.name.clone() }</text>
                { for lines.iter().enumerate().map(|(k, l)| html! {
                    <text x={coord(x)} y={coord(host_y + 18.0 + LINE * (k as f64 + 1.0))} text-anchor="middle" class="host-if">{ l.clone() }</text>
                }) }
            </g>
        }
    });
    html! {
        <svg class="topology" viewBox={format!("0 0 {} {}", coord(width), coord(height))} role="group"
             aria-label="Lab topology: hosts and links" preserveAspectRatio="xMidYMin meet">
            { for edges }
            { for links }
            { for hosts }
        </svg>
    }
}
