//! Impaired links made of real kernel parts, for benchmarks and tests: a network namespace joined to
//! this one by a veth pair, the namespace's uplink shaped with `tc … tbf` and random loss added
//! with `nftables` (this kernel has no `netem`). A client started with [`NetLab::command`] lives in the
//! namespace; a server in this namespace listens on [`NetLab::host_ip`]. Needs root, `iproute2` and
//! `nftables`; everything is removed when the lab is dropped.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context};

/// Labs made by this process so far (names and subnets stay unique).
static MADE: AtomicU32 = AtomicU32::new(0);

/// A namespace and the veth pair to it.
pub struct NetLab {
    ns: String,
    host_if: String,
    ns_if: String,
    /// This side's address on the link.
    pub host_ip: Ipv4Addr,
    /// The namespace's address on the link.
    pub ns_ip: Ipv4Addr,
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (is it installed?)"))?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl NetLab {
    /// A new namespace linked to this one, unshaped.
    pub fn new() -> anyhow::Result<NetLab> {
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id() % 100_000);
        // One /30 per lab: 10.201.<a>.<b*4>, from the process and the lab count.
        let slot = (std::process::id() * 8 + n) % (250 * 64);
        let (a, b) = ((slot / 64) as u8, (slot % 64 * 4) as u8);
        let lab = NetLab {
            ns: format!("otterlab{id}"),
            host_if: format!("olh{id}"),
            ns_if: format!("oln{id}"),
            host_ip: Ipv4Addr::new(10, 201, a, b + 1),
            ns_ip: Ipv4Addr::new(10, 201, a, b + 2),
        };
        lab.build().inspect_err(|_| lab.teardown())?;
        Ok(lab)
    }

    fn build(&self) -> anyhow::Result<()> {
        let (ns, host, peer) = (&self.ns, &self.host_if, &self.ns_if);
        run("ip", &["netns", "add", ns])?;
        run(
            "ip",
            &["link", "add", host, "type", "veth", "peer", "name", peer],
        )?;
        run("ip", &["link", "set", peer, "netns", ns])?;
        run(
            "ip",
            &["addr", "add", &format!("{}/30", self.host_ip), "dev", host],
        )?;
        run("ip", &["link", "set", host, "up"])?;
        self.in_ns(
            "ip",
            &["addr", "add", &format!("{}/30", self.ns_ip), "dev", peer],
        )?;
        self.in_ns("ip", &["link", "set", peer, "up"])?;
        self.in_ns("ip", &["link", "set", "lo", "up"])?;
        // Other labs' host addresses are this host's too: reachable through it.
        self.in_ns(
            "ip",
            &["route", "add", "default", "via", &self.host_ip.to_string()],
        )?;
        Ok(())
    }

    fn in_ns(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut full = vec!["netns", "exec", &self.ns, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// `program args…` inside the namespace.
    pub fn command(&self, program: &std::path::Path) -> Command {
        let [ip, rest @ ..] = self.exec_prefix();
        let mut c = Command::new(ip);
        c.args(rest).arg(program);
        c
    }

    /// What runs a program inside the namespace when put before it.
    pub fn exec_prefix(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.ns]
    }

    /// Caps what the namespace sends (its uplink) at `kbit` kbit/s; 0 removes the cap.
    pub fn shape_uplink(&self, kbit: u32) -> anyhow::Result<()> {
        let dev = self.ns_if.clone();
        self.shape(kbit, |args| self.in_ns("tc", args), &dev)
    }

    /// Caps what the namespace receives (its downlink) at `kbit` kbit/s; 0 removes the cap.
    #[allow(dead_code)] // used by `bench network`'s simulcast scenario, not by the tests including this
    pub fn shape_downlink(&self, kbit: u32) -> anyhow::Result<()> {
        let dev = self.host_if.clone();
        self.shape(kbit, |args| run("tc", args), &dev)
    }

    /// A token bucket with a queue of at most 400 ms at the rate, as a home router's or a phone
    /// modem's buffer holds: a sender that ignores the rate sees its packets wait, then drop.
    fn shape(
        &self,
        kbit: u32,
        tc: impl Fn(&[&str]) -> anyhow::Result<()>,
        dev: &str,
    ) -> anyhow::Result<()> {
        if kbit == 0 {
            let _ = tc(&["qdisc", "del", "dev", dev, "root"]);
            return Ok(());
        }
        let rate = format!("{kbit}kbit");
        // At least one full-size packet per burst, and about 10 ms of traffic at high rates.
        let burst = format!("{}", (kbit as usize * 1000 / 8 / 100).max(3_000));
        tc(&[
            "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate, "burst", &burst,
            "latency", "400ms",
        ])
    }

    /// Drops `percent` % of the UDP packets the namespace sends, at random (100: all); 0 removes the
    /// rule.
    pub fn uplink_loss(&self, percent: u32) -> anyhow::Result<()> {
        self.udp_loss("output", percent)
    }

    /// Drops `percent` % of the UDP packets the namespace receives, at random (100: all); 0 removes
    /// the rule.
    #[allow(dead_code)] // used by cli/tests/network.rs, which includes this file
    pub fn downlink_loss(&self, percent: u32) -> anyhow::Result<()> {
        self.udp_loss("input", percent)
    }

    /// One nftables table per hook, so each direction is set and cleared on its own.
    fn udp_loss(&self, hook: &str, percent: u32) -> anyhow::Result<()> {
        let table = format!("otterlab_{hook}");
        let _ = self.in_ns("nft", &["delete", "table", "inet", &table]);
        if percent == 0 {
            return Ok(());
        }
        let percent = percent.to_string();
        self.in_ns("nft", &["add", "table", "inet", &table])?;
        let chain = format!("{{ type filter hook {hook} priority 0; policy accept; }}");
        self.in_ns("nft", &["add", "chain", "inet", &table, "loss", &chain])?;
        let mut rule = vec![
            "add", "rule", "inet", &table, "loss", "meta", "l4proto", "udp",
        ];
        // 100 % is a firewall that blocks UDP (nftables' `numgen` cannot compare with 100).
        if percent != "100" {
            rule.extend_from_slice(&["numgen", "random", "mod", "100", "<", &percent]);
        }
        rule.push("drop");
        self.in_ns("nft", &rule)
    }

    fn teardown(&self) {
        // Deleting the namespace deletes its end of the pair, which takes the other end with it.
        let _ = run("ip", &["netns", "del", &self.ns]);
        let _ = run("ip", &["link", "del", &self.host_if]);
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        self.teardown();
    }
}
