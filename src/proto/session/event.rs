//! What a [`Session`](super::Session) reports to its owner, and its counters.

use crate::proto::payloads::{
    ChannelClosed, HandshakeComplete, HandshakeRequest, HandshakeResponse, PayloadFlag,
    TerminalSize,
};
use crate::proto::types::PayloadType;

/// Application-level happenings, drained with [`Session::poll_event`](super::Session::poll_event).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Client: the session started (first Output, or HandshakeComplete when `handshake`).
    /// Agent: the handshake response arrived (`handshake`), or the first output was sent.
    Opened { handshake: bool },
    /// In-order stream bytes: the client gets Output/StdErr, the agent gets Output (input).
    Data {
        payload_type: PayloadType,
        bytes: Vec<u8>,
    },
    /// Agent: the client's terminal size (PT 3).
    Resize(TerminalSize),
    /// A PT 10 flag from the peer.
    Flag(PayloadFlag),
    /// Client: the remote command's exit code (PT 12).
    ExitCode(i32),
    /// Client: informational; the session has already answered it (§4.4).
    HandshakeRequested(HandshakeRequest),
    /// Agent: the client's answer to `start_handshake`.
    HandshakeResponded(HandshakeResponse),
    /// Client: the handshake finished; print a non-empty `customer_message`.
    HandshakeCompleted(HandshakeComplete),
    /// Either role: the channel is closed and the session with it.
    ChannelClosed(ChannelClosed),
    /// Client: the handshake asked for something gangway cannot do (a Port session, KMS, an
    /// unknown action), so it answered Failed (§4.4) and the session is closed: write what
    /// `poll_transmit` still gives (the ack and that answer), then end with `reason`.
    Refused { reason: String },
    /// pause_publication arrived: stream frames are held (acks still go out) until
    /// [`Resumed`](Self::Resumed) (§5.4).
    Paused,
    /// The pause ended: start_publication, or stream data or an ack from the peer (§5.4).
    Resumed,
    /// Client (with `SessionConfig::kms_encryption`): call KMS GenerateDataKey for this key
    /// (§4.6 step 1), then `complete_kms` or `fail_kms`.
    KmsDataKeyRequested { key_id: String, challenge: String },
    /// Agent: the client answered the encryption challenge correctly; send
    /// HandshakeComplete (§4.6 step 7).
    ChallengeVerified,
    /// Either role: a payload that must be encrypted did not decrypt. Nothing more is
    /// delivered; the owner ends the session with this reason (§4.6 step 6).
    EncryptionFailed(String),
}

/// Counters for tests, logs and benchmarks. All monotonically increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every frame returned by `poll_transmit`.
    pub frames_sent: u64,
    /// Stream frames sent for the first time.
    pub stream_frames_sent: u64,
    /// Stream frames sent again after a timeout or reconnect.
    pub retransmissions: u64,
    pub acks_sent: u64,
    pub acks_received: u64,
    /// Acks for sequence numbers that were not (or no longer) waiting for one.
    pub stale_acks_received: u64,
    /// Stream frames older than the expected sequence number (re-acked, quirk 6).
    pub duplicates_received: u64,
    /// Stream frames that arrived ahead of order and were buffered.
    pub out_of_order_received: u64,
    /// Ahead-of-order frames dropped unacked because the reorder buffer was full (its count
    /// or its bytes).
    pub reorder_overflow_dropped: u64,
    /// Stream frames dropped unacked for being more than `incoming_span` ahead.
    pub beyond_span_dropped: u64,
    /// In-order stream messages refused unacked while not ready (`set_receive_ready`).
    pub not_ready_refused: u64,
    /// Frames that failed to decode, frames whose payload is over
    /// `max_incoming_payload_bytes`, or control payloads that failed to parse.
    pub malformed_dropped: u64,
    /// Frames accepted with a HeaderLength other than 116 or a PayloadLength that disagrees
    /// with the bytes after the header, as the references accept them (§2.1, quirk 30).
    pub noncanonical_accepted: u64,
    /// Acked stream messages whose payload could not be parsed (no event was emitted).
    pub malformed_payloads: u64,
    /// Unknown message types, wrong-direction stream data, unsupported payload types.
    pub ignored: u64,
    /// Payload bytes delivered in order as `Event::Data`.
    pub bytes_delivered: u64,
    /// Payload bytes accepted by `send_data`/`send_stderr`.
    pub bytes_accepted: u64,
    pub rtt_samples: u64,
    /// Encrypted payloads that did not decrypt, and wrong challenge answers (§4.6).
    pub undecryptable: u64,
}
