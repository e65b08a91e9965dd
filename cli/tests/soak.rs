//! Two minutes of churn (`otter bench soak`): 100 clients joining, signalling, publishing and leaving at
//! random on one server. Nothing may be left behind, no accepted signal lost, no error answered, and the
//! server's memory after warm-up may not grow by more than 5 %.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::OTTER;
use serde_json::Value;

#[test]
fn two_minutes_of_churn_leave_nothing_behind() {
    let out = Command::new(OTTER)
        .args(["bench", "soak", "--minutes", "2", "--clients", "100"])
        .output()
        .expect("otter runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines {
        println!("{line}");
    }
    let metrics: HashMap<&str, f64> = lines
        .iter()
        .filter(|l| l["metric"] != "errors")
        .map(|l| (l["metric"].as_str().unwrap(), l["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(metrics["connections_left"], 0.0);
    assert_eq!(metrics["sfu_peers_left"], 0.0);
    assert!(metrics["joins"] > 300.0, "{}", metrics["joins"]);
    assert!(metrics["publishes"] > 50.0, "{}", metrics["publishes"]);
    assert!(
        metrics["signals_sent"] > 5000.0,
        "{}",
        metrics["signals_sent"]
    );
    assert_eq!(metrics["signals_lost"], 0.0);
    assert!(
        metrics["server_rss_growth_after_warmup"] <= 5.0,
        "{}",
        metrics["server_rss_growth_after_warmup"]
    );
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|l| l["metric"] == "errors" && l["value"] != 0.0)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
