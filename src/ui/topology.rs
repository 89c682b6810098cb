//! The lab's topology as SVG: hosts, their interfaces and addresses, and
//! the links (L2 segments) joining them. Click (or Enter on) a host to work on it.

use super::SessRef;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TopoProps {
    pub sess: SessRef,
    pub open: usize,
    pub on_open: Callback<usize>,
}

const HOST_W: f64 = 110.0;
const HOST_H: f64 = 34.0;
const COL: f64 = 170.0;

#[function_component(Topology)]
pub fn topology(p: &TopoProps) -> Html {
    let s = p.sess.rc.borrow();
    let w = &s.world;
    let n = w.hosts.len().max(1);
    let width = (n as f64 * COL).max(360.0);
    let host_x: Vec<f64> = (0..w.hosts.len())
        .map(|i| COL / 2.0 + i as f64 * COL)
        .collect();
    let host_y = 36.0;
    let link_y = 170.0;
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
    let height = 230.0;
    let mut edges = Vec::new();
    for (li, l) in w.links.iter().enumerate() {
        for (k, (h, ifname)) in l.ends.iter().enumerate() {
            let (x1, y1) = (host_x[*h], host_y + HOST_H);
            let (x2, y2) = (link_x[li], link_y - 10.0);
            let addr = w.hosts[*h]
                .iface(ifname)
                .map(|i| {
                    i.addrs
                        .iter()
                        .map(|a| format!("{}/{}", a.addr, a.prefix))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            // Label near the host end, staggered so neighbours do not collide.
            let t = 0.32 + 0.18 * (k % 2) as f64;
            let (lx, ly) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
            edges.push(html! {
                <g class="edge">
                    <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                    <text x={lx.to_string()} y={ly.to_string()} class="if-label" text-anchor="middle">
                        <tspan x={lx.to_string()} dy="-2">{ ifname.clone() }</tspan>
                        <tspan x={lx.to_string()} dy="11">{ addr }</tspan>
                    </text>
                </g>
            });
        }
    }
    let links = w.links.iter().enumerate().map(|(li, l)| {
        let x = link_x[li];
        html! {
            <g class="link" aria-label={format!("link {}", l.name)}>
                <rect x={(x - 40.0).to_string()} y={(link_y - 10.0).to_string()} width="80" height="20" rx="10" />
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
        let addrs: Vec<String> = h
            .ifaces
            .iter()
            .filter(|i| !i.is_loopback())
            .map(|i| {
                format!(
                    "{} {}",
                    i.name,
                    i.addrs.first().map(|a| format!("{}/{}", a.addr, a.prefix)).unwrap_or_default()
                )
            })
            .collect();
        let class = if i == p.open { "host open" } else { "host" };
        html! {
            <g class={class} tabindex="0" role="button" data-host={h.name.clone()}
               aria-pressed={(i == p.open).to_string()}
               aria-label={format!("host {}: {}", h.name, addrs.join(", "))}
               {onclick} {onkeydown}>
                <rect x={(x - HOST_W / 2.0).to_string()} y={host_y.to_string()} width={HOST_W.to_string()} height={HOST_H.to_string()} rx="6" />
                <text x={x.to_string()} y={(host_y + 22.0).to_string()} text-anchor="middle">{ h.name.clone() }</text>
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
