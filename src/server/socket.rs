//! The server's side of a TCP connection, as HTTP/2 should see it.
//!
//! h2 writes a DATA frame of 256 bytes or more on its own, with one `writev` per frame,
//! when the socket says it writes vectors (a `TcpStream` does): it cannot queue the next
//! frame until that one is out. A unary `LeadAssessment` is 0.8-1 KB, so every call cost
//! a system call and a TCP segment of its own, where the frames of many small responses
//! share one. A socket that does not claim vectored writes moves h2's threshold to 1,024
//! bytes: a typical response is copied into its 16 KiB write buffer and goes out with its
//! neighbours' (`h2::codec::framed_write`, `CHAIN_THRESHOLD_WITHOUT_VECTORED_IO`). Larger
//! frames, such as a stream's batches of answers, are still written from their own
//! buffer, in two writes instead of one.
//!
//! A vectored write asked for anyway is still one `writev`: rustls, under TLS, asks for
//! them whatever the socket says. h2 over TLS sees the TLS stream, which claims vectored
//! writes, so there it keeps writing each response on its own.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted TCP connection that h2 buffers small frames for.
#[derive(Debug)]
pub struct Socket(pub TcpStream);

impl Connected for Socket {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    /// Still one `writev`, though the socket says it has none: a writer that asks for
    /// vectored writes whatever the answer (rustls under TLS) would otherwise get one
    /// system call a buffer.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    /// The point of this type: h2 reads it once, when the connection starts.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    async fn connected() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (client, listener.accept().await.unwrap().0)
    }

    #[tokio::test]
    async fn h2_is_told_to_buffer_small_frames() {
        // h2 reads this once a connection to choose its chain threshold: with `true`,
        // every response of 256 bytes or more is written on its own.
        let (client, accepted) = connected().await;
        assert!(
            accepted.is_write_vectored(),
            "the premise: a bare TcpStream says yes"
        );
        let socket = Socket(accepted);
        assert!(!socket.is_write_vectored());
        assert_eq!(
            socket.connect_info().remote_addr(),
            Some(client.local_addr().unwrap()),
            "calls still see their peer"
        );
    }

    #[tokio::test]
    async fn bytes_pass_through_both_ways() {
        let (mut client, accepted) = connected().await;
        let mut socket = Socket(accepted);
        client.write_all(b"request").await.unwrap();
        let mut got = [0; 7];
        socket.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"request");
        // One vectored write takes both buffers, as the TcpStream's own does (the trait's
        // default would take the first alone).
        let parts = [io::IoSlice::new(b"resp"), io::IoSlice::new(b"onse")];
        assert_eq!(socket.write_vectored(&parts).await.unwrap(), 8);
        socket.flush().await.unwrap();
        socket.shutdown().await.unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"response");
    }
}
