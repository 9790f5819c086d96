//! Per-connection control, so that a handler can make the server close or reset the TCP
//! connection it arrived on, honestly, without sending a byte.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Put into every request's extensions by the accept loop.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnControl {
    inner: Arc<ControlInner>,
}

#[derive(Debug, Default)]
struct ControlInner {
    abort: Notify,
    reset: Arc<AtomicBool>,
}

impl ConnControl {
    /// Asks the connection task to drop the connection now: with a FIN, or with a RST when
    /// `reset` is set.
    pub(crate) fn abort(&self, reset: bool) {
        if reset {
            self.inner.reset.store(true, Ordering::SeqCst);
        }
        // `notify_one` keeps a permit if the connection task is not waiting yet.
        self.inner.abort.notify_one();
    }

    /// Resolves once [`ConnControl::abort`] was called.
    pub(crate) async fn aborted(&self) {
        self.inner.abort.notified().await;
    }

    fn reset_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.inner.reset)
    }
}

/// A TCP stream that, when dropped after a reset request, aborts the connection (RST)
/// instead of closing it.
pub(crate) struct ConnStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ConnStream {
    pub(crate) fn new(stream: TcpStream, control: &ConnControl) -> Self {
        Self {
            stream,
            reset: control.reset_flag(),
        }
    }
}

impl Drop for ConnStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // SO_LINGER 0: close() sends RST and discards unsent data.
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
