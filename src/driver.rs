//! The driver task: owns a [`SessionCore`] and its socket, turns commands and socket traffic into the
//! core's inputs, and carries out its outputs. One task per session; it ends when every handle is gone.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::events::SessionEvent;
use crate::session_core::{Input, OpId, OpResult, Output, Request, SessionCore, SessionState};
use crate::transport::{Inbound, Transport};

/// What a handle asks of the driver.
pub(crate) enum Command {
    Connect {
        token: String,
        reply: oneshot::Sender<OpResult>,
    },
    Disconnect {
        reply: oneshot::Sender<OpResult>,
    },
    Request {
        request: Request,
        reply: oneshot::Sender<OpResult>,
    },
}

/// How long one send may block before the link counts as dead (a peer that stopped reading).
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

type Opening = Pin<Box<dyn Future<Output = Result<Transport, String>> + Send>>;

pub(crate) struct Driver {
    pub core: SessionCore,
    pub url: String,
    pub commands: mpsc::Receiver<Command>,
    pub events: broadcast::Sender<SessionEvent>,
    pub snapshot: watch::Sender<SessionState>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut transport: Option<Transport> = None;
        let mut opening: Option<Opening> = None;
        let mut ops: HashMap<OpId, oneshot::Sender<OpResult>> = HashMap::new();
        let mut next_op: OpId = 1;
        let mut handles_gone = false;
        let mut completed = Vec::new();
        loop {
            // Carry out everything the core asked for, in order.
            while let Some(output) = self.core.poll_output() {
                match output {
                    Output::OpenTransport => {
                        if let Some(t) = transport.take() {
                            t.close().await;
                        }
                        let url = self.url.clone();
                        opening = Some(Box::pin(async move { Transport::open(&url).await }));
                    }
                    Output::CloseTransport => {
                        opening = None;
                        if let Some(t) = transport.take() {
                            t.close().await;
                        }
                    }
                    Output::Send(message) => {
                        let Some(t) = transport.as_mut() else {
                            continue;
                        };
                        let sent = tokio::time::timeout(SEND_TIMEOUT, t.send(&message)).await;
                        if !matches!(sent, Ok(Ok(()))) {
                            debug!("send failed; link lost");
                            transport = None;
                            self.core
                                .handle_input(Instant::now().into_std(), Input::TransportClosed);
                        }
                    }
                    Output::Event(event) => {
                        // No receivers is fine: nobody is listening.
                        let _ = self.events.send(event);
                    }
                    Output::Complete { op, result } => completed.push((op, result)),
                }
            }
            // The snapshot first: a caller woken by its reply must see the state that reply implies
            // (e.g. `capabilities()` right after `connect()` returns).
            if self.core.take_dirty() {
                self.snapshot.send_replace(self.core.state());
            }
            for (op, result) in completed.drain(..) {
                if let Some(reply) = ops.remove(&op) {
                    let _ = reply.send(result);
                }
            }
            if handles_gone && self.core.is_idle() {
                break;
            }
            let deadline = self.core.poll_timeout().map(Instant::from_std);
            tokio::select! {
                command = self.commands.recv(), if !handles_gone => {
                    let now = Instant::now().into_std();
                    let Some(command) = command else {
                        // Every handle is gone: leave the session as if asked to.
                        handles_gone = true;
                        self.core.handle_input(now, Input::Disconnect { op: None });
                        continue;
                    };
                    let op = next_op;
                    next_op += 1;
                    let (input, reply) = match command {
                        Command::Connect { token, reply } => (Input::Connect { op, token }, reply),
                        Command::Disconnect { reply } => (Input::Disconnect { op: Some(op) }, reply),
                        Command::Request { request, reply } => (Input::Request { op, request }, reply),
                    };
                    ops.insert(op, reply);
                    self.core.handle_input(now, input);
                }
                opened = async { opening.as_mut().expect("guarded by the branch condition").await }, if opening.is_some() => {
                    opening = None;
                    let now = Instant::now().into_std();
                    match opened {
                        Ok(t) => {
                            transport = Some(t);
                            self.core.handle_input(now, Input::TransportOpened);
                        }
                        Err(e) => {
                            debug!(error = %e, "could not open the signalling socket");
                            self.core.handle_input(now, Input::TransportFailed);
                        }
                    }
                }
                inbound = async { transport.as_mut().expect("guarded by the branch condition").recv().await }, if transport.is_some() => {
                    let now = Instant::now().into_std();
                    match inbound {
                        Inbound::Message(m) => self.core.handle_input(now, Input::Message(*m)),
                        Inbound::Garbage(e) => warn!(error = %e, "ignoring a malformed message from the server"),
                        Inbound::Closed => {
                            transport = None;
                            self.core.handle_input(now, Input::TransportClosed);
                        }
                    }
                }
                _ = sleep_until(deadline) => {
                    self.core.handle_timeout(Instant::now().into_std());
                }
            }
        }
        debug!("session driver finished");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
