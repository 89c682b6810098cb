//! The lab's topology as SVG: hosts with their interfaces and addresses,
//! and the links (L2 segments) joining them. Click (or Enter on) a host to
//! work on it.

use super::SessRef;
use yew::prelude::*;

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
                    <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                    <text x={mx.to_string()} y={(my + 4.0).to_string()} class="if-label" text-anchor="middle">{ ifname.clone() }</text>
                </g>
            });
        }
    }
    let links = w.links.iter().enumerate().map(|(li, l)| {
        let x = link_x[li];
        html! {
            <g class="link">
                <title>{ format!("link {}", l.name) }</title>
                <rect x={(x - 42.0).to_string()} y={(link_y - 11.0).to_string()} width="84" height="22" rx="11" />
                <text x={x.to_string()} y={(link_y + 4.0).to_string()} text-anchor="middle">{ l.name.clone() }</text>
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
                <rect x={(x - HOST_W / 2.0).to_string()} y={host_y.to_string()} width={HOST_W.to_string()} height={host_h.to_string()} rx="6" />
                <text x={x.to_string()} y={(host_y + 18.0).to_string()} text-anchor="middle" class="host-name">{ h.name.clone() }</text>
                { for lines.iter().enumerate().map(|(k, l)| html! {
                    <text x={x.to_string()} y={(host_y + 18.0 + LINE * (k as f64 + 1.0)).to_string()} text-anchor="middle" class="host-if">{ l.clone() }</text>
                }) }
            </g>
        }
    });
    html! {
        <svg class="topology" viewBox={format!("0 0 {width} {height}")} role="group"
             aria-label="Lab topology: hosts and links" preserveAspectRatio="xMidYMin meet">
            { for edges }
            { for links }
            { for hosts }
        </svg>
    }
}
