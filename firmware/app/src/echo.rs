//! The echo protocol (`echo/0`) with iroh's semantics: read a stream to its end, write every
//! byte back, finish the stream, then wait for the client to close the connection.
//!
//! Unlike the iroh ESP32 examples' handler, which accepts exactly one stream per connection, a
//! connection may carry several streams one after another (the profile allows one at a time);
//! the handler serves each until the client closes. A client that opens one stream sees no
//! difference. [`Echo::one_stream_per_connection`] behaves as the examples do.

use std::sync::Arc;

use iroh::endpoint::{Connection, ConnectionError, ReadError, RecvStream, SendStream, WriteError};
use iroh::protocol::{AcceptError, ProtocolHandler};

use crate::console::{Lines, Log};
use crate::counters::Counters;

/// The copy buffer, on the stack: tokio::io::copy's 8 KiB heap buffer per stream fragments a
/// board's heap until a second connection cannot get one.
pub const ECHO_BUFFER: usize = 1024;

/// The echo protocol handler.
#[derive(Debug, Clone)]
pub struct Echo {
    counters: Arc<Counters>,
    log: Log,
    /// Streams served per connection; `None`: until the client closes.
    streams_per_connection: Option<u32>,
}

impl Echo {
    pub fn new(counters: Arc<Counters>, log: Log) -> Self {
        Self {
            counters,
            log,
            streams_per_connection: None,
        }
    }

    /// As the iroh ESP32 examples' handler: the first stream of a connection is echoed, any
    /// later one is never accepted (its client waits until it gives up), and the handler waits
    /// for the client to close.
    pub fn one_stream_per_connection(mut self) -> Self {
        self.streams_per_connection = Some(1);
        self
    }

    /// Serves streams until the connection ends; returns how it ended.
    async fn serve(&self, connection: &Connection) -> ConnectionError {
        let mut served = 0u32;
        loop {
            if self
                .streams_per_connection
                .is_some_and(|most| served >= most)
            {
                return connection.closed().await;
            }
            let (send, recv) = match connection.accept_bi().await {
                Ok(streams) => streams,
                Err(ended) => return ended,
            };
            served += 1;
            match echo_stream(send, recv, &self.counters).await {
                Ok(bytes) => self.log.info(Lines::copied(bytes)),
                Err(err) => self.log.warn(format_args!("Echo stream failed: {err}")),
            }
        }
    }
}

impl ProtocolHandler for Echo {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let _open = self.counters.connection_opened();
        self.log.info(Lines::accepted(connection.remote_id()));
        let ended = self.serve(&connection).await;
        if !closed_by_peer(&ended) {
            self.log.warn(format_args!("Connection ended: {ended}"));
        }
        self.log.info(Lines::connection_closed());
        Ok(())
    }
}

/// A connection the client closed (or a local shutdown) is the normal end of an echo session.
fn closed_by_peer(ended: &ConnectionError) -> bool {
    matches!(
        ended,
        ConnectionError::ApplicationClosed(_) | ConnectionError::LocallyClosed
    )
}

/// Why echoing one stream stopped.
#[derive(Debug)]
pub enum EchoError {
    Read(ReadError),
    Write(WriteError),
    /// The stream was already finished or reset when the echo tried to finish it.
    Finish,
}

impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EchoError::Read(err) => write!(f, "reading the stream: {err}"),
            EchoError::Write(err) => write!(f, "writing the stream: {err}"),
            EchoError::Finish => f.write_str("finishing the stream: it was already closed"),
        }
    }
}

impl std::error::Error for EchoError {}

/// Copies `recv` to `send` until the peer finishes its side, then finishes ours. Returns the
/// bytes echoed; counts them as they go so STATUS shows a long echo in progress.
pub async fn echo_stream(
    mut send: SendStream,
    mut recv: RecvStream,
    counters: &Counters,
) -> Result<u64, EchoError> {
    let mut buf = [0u8; ECHO_BUFFER];
    let mut total = 0u64;
    while let Some(n) = recv.read(&mut buf).await.map_err(EchoError::Read)? {
        send.write_all(&buf[..n]).await.map_err(EchoError::Write)?;
        total += n as u64;
        counters.add_echoed(n as u64);
    }
    send.finish().map_err(|_| EchoError::Finish)?;
    Ok(total)
}
