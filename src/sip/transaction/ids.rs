//! The names of transactions. Client transaction ids are chosen by the calls thread, so it
//! can file a request under its dialog before the reactor has even seen it; server ids are
//! chosen by the transaction layer.

/// A client transaction, named by the calls thread (unique for the process's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ClientTxId(pub u64);

/// A server transaction, named by the transaction layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ServerTxId(pub u64);
