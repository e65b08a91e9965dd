//! Limits on the HTTP listener (REST, WHIP/WHEP and the WebSocket upgrade), so unauthenticated clients
//! cannot hold the server's sockets: a cap on concurrent connections, and a deadline for each request's
//! headers, which also closes idle keep-alive connections (hyper starts the clock when it waits for a
//! request, not when the first byte arrives). Upgraded WebSockets keep their permit and have their own
//! deadlines (hello, heartbeats).

use std::future::ready;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sets the header deadline (HTTP/1) and keep-alive pings (HTTP/2) on a connection builder.
pub fn configure(builder: &mut Builder<TokioExecutor>, header_timeout: Duration) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(header_timeout)
        .keep_alive_timeout(header_timeout);
}

/// Refuses connections beyond a cap: each accepted stream holds a permit until it closes.
#[derive(Clone)]
pub struct ConnectionCap<A> {
    inner: A,
    permits: Arc<Semaphore>,
}

impl<A> ConnectionCap<A> {
    /// At most `max` connections at once, accepted through `inner` (plain TCP or TLS).
    pub fn new(inner: A, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max)),
        }
    }
}

impl<A, I, S> Accept<I, S> for ConnectionCap<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Capped<A::Stream>;
    type Service = A::Service;
    type Future = Pin<
        Box<dyn std::future::Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>,
    >;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            // Dropping the stream closes it at once; the others are not slowed down.
            tracing::debug!("HTTP connection cap reached; refusing a connection");
            return Box::pin(ready(Err(io::Error::other("connection cap reached"))));
        };
        let accepting = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepting.await?;
            Ok((
                Capped {
                    inner: stream,
                    _permit: permit,
                },
                service,
            ))
        })
    }
}

/// A stream that gives its connection slot back when dropped.
pub struct Capped<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request refused before its body was read (413) leaves the rest of that body on the connection, so
/// the connection cannot carry another request and is closed after the answer. Saying so
/// (`Connection: close`) keeps a client from sending its next request into it (seen: reqwest reusing the
/// pooled connection and failing with a broken pipe).
pub(crate) async fn close_after_unread_body(
    mut response: axum::response::Response,
) -> axum::response::Response {
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
