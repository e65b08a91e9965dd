//! Mounting and unmounting `OTSession` leaves nothing behind. Alone in its test binary, so the thread
//! and file-descriptor counts of the process are this test's own.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use otter_dioxus::prelude::*;

fn count_in(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

fn threads() -> usize {
    count_in("/proc/self/task")
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test]
async fn a_bad_token_reports_1004_and_mount_unmount_leaks_nothing() {
    let fixture = Fixture::start().await;
    let (server, sid, options) = (&fixture.server, fixture.session.clone(), fixture.options());
    let props = |token: String, log: &Rc<RefCell<Vec<String>>>| RootProps {
        session_id: sid.to_string(),
        token,
        options: options.clone(),
        log: log.clone(),
        live: Default::default(),
    };

    let log = Rc::new(RefCell::new(Vec::new()));
    let mut dom = VirtualDom::new_with_props(root, props("not-a-token".into(), &log));
    dom.rebuild_in_place();
    drive(&mut dom, "error 1004", || {
        log.borrow()
            .iter()
            .any(|l| l == "error 1004 OT_AUTHENTICATION_ERROR")
    })
    .await;
    drop(dom);

    // Mount and unmount 100 times: threads, sockets and server connections come back to where they were.
    let token = || fixture.token();
    let mut warm = VirtualDom::new_with_props(root, props(token(), &Rc::default()));
    warm.rebuild_in_place();
    drive(&mut warm, "warm-up", || {
        server.state().metrics.connections.get() == 1
    })
    .await;
    drop(warm);
    settle(server, "warm-up").await;
    let (threads_before, fds_before, tasks_before) =
        (threads(), count_in("/proc/self/fd"), tasks());
    // Two rounds of 100: the first reaches steady state (allocator pools, caches), the second must not
    // grow memory — a per-mount leak of even 40 KB would show as 4 MB here.
    let mut rss = Vec::new();
    for round in 0..2 {
        for _ in 0..100 {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut dom = VirtualDom::new_with_props(root, props(token(), &log));
            dom.rebuild_in_place();
            drive(&mut dom, "connected", || {
                log.borrow()
                    .iter()
                    .any(|l| l.starts_with("session_connected"))
            })
            .await;
            drop(dom);
        }
        settle(server, "after 100 mounts").await;
        rss.push(rss_kib());
        eprintln!("round {round}: rss {} KiB, tasks {}", rss[round], tasks());
    }
    let (threads_after, fds_after, tasks_after) = (threads(), count_in("/proc/self/fd"), tasks());
    assert!(
        threads_after <= threads_before + 2,
        "threads {threads_before} → {threads_after}"
    );
    assert!(
        fds_after <= fds_before + 4,
        "file descriptors {fds_before} → {fds_after}"
    );
    assert!(
        tasks_after <= tasks_before + 2,
        "tokio tasks {tasks_before} → {tasks_after}"
    );
    assert!(
        rss[1] <= rss[0] + 4 * 1024,
        "memory grew {} KiB over the second 100 mounts",
        rss[1].saturating_sub(rss[0])
    );
}
