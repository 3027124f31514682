//! The figures behind the STATUS line, counted since boot.

use portable_atomic::{AtomicU64, Ordering};

/// Connection and byte counters, shared by the echo handler and the console.
#[derive(Debug, Default)]
pub struct Counters {
    open: AtomicU64,
    served: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    /// Counts a connection as open until the returned guard is dropped; then it counts as
    /// served. A guard, so a handler that ends by an error or by shutdown still counts right.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection { counters: self }
    }

    pub fn add_echoed(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections that were accepted and have ended.
    pub fn connections_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Payload bytes echoed back, over all streams.
    pub fn bytes_echoed(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// An accepted connection, open until dropped.
#[derive(Debug)]
pub struct OpenConnection<'a> {
    counters: &'a Counters,
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.counters.served.fetch_add(1, Ordering::Relaxed);
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_open_then_served() {
        let counters = Counters::default();
        let first = counters.connection_opened();
        let second = counters.connection_opened();
        assert_eq!(
            (counters.open_connections(), counters.connections_served()),
            (2, 0)
        );
        drop(first);
        assert_eq!(
            (counters.open_connections(), counters.connections_served()),
            (1, 1)
        );
        drop(second);
        assert_eq!(
            (counters.open_connections(), counters.connections_served()),
            (0, 2)
        );
    }

    #[test]
    fn bytes_add_up() {
        let counters = Counters::default();
        counters.add_echoed(1024);
        counters.add_echoed(1);
        assert_eq!(counters.bytes_echoed(), 1025);
    }
}
