//! smux v1 frames (§6.3): an 8-byte header `ver(1)=1, cmd(1), length(2, LE), streamId(4, LE)`
//! followed by `length` bytes of data.
//!
//! The decoder is incremental because the data channel's PT 1 payloads do not line up with smux
//! frames (§6.3): a frame can be split across payloads, and one payload can carry several.

use std::fmt;
use std::ops::ControlFlow;

use thiserror::Error;

/// The only smux protocol version the agent and the plugin speak (§6.3).
pub const VERSION: u8 = 1;
/// Size of a frame header.
pub const HEADER_SIZE: usize = 8;
/// The frame size both references send with (xtaci/smux `DefaultConfig`, MaxFrameSize).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 32_768;

/// A smux stream id. The client opens odd ids from 3, the server even ids from 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A version 1 command. Version 2's UPD is not part of v1 and is rejected like any unknown one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Open a stream (no data).
    Syn = 0,
    /// End of the sender's direction of a stream (no data).
    Fin = 1,
    /// Stream data.
    Psh = 2,
    /// Keepalive (no data, stream id 0).
    Nop = 3,
}

impl Cmd {
    fn from_wire(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Syn),
            1 => Some(Self::Fin),
            2 => Some(Self::Psh),
            3 => Some(Self::Nop),
            _ => None,
        }
    }
}

/// One decoded frame. `data` is empty for everything but [`Cmd::Psh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub cmd: Cmd,
    /// 0 for NOP.
    pub stream: StreamId,
    /// At most 65535 bytes.
    pub data: Vec<u8>,
}

/// Why the incoming byte stream is not smux v1. Every one is fatal for the session, as in
/// xtaci/smux's `recvLoop` (`notifyProtoError(ErrInvalidProtocol)`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("smux frame with version {0}, expected 1")]
    Version(u8),
    #[error("smux frame with unknown command {0}")]
    Command(u8),
    /// SYN, FIN and NOP carry no data. xtaci/smux v1.5.15 (the agent's) would not even read
    /// such data and lose framing; later versions reject it, and so do we.
    #[error("smux {cmd:?} frame announcing {length} data bytes")]
    UnexpectedData { cmd: Cmd, length: u16 },
}

/// Appends one frame to `out`. `data` must be at most 65535 bytes (use [`encode_data`] to
/// split); longer data is cut there rather than corrupting the length field.
pub fn encode_frame(out: &mut Vec<u8>, cmd: Cmd, stream: StreamId, data: &[u8]) {
    let data = &data[..data.len().min(usize::from(u16::MAX))];
    // Lossless: just bounded to u16::MAX.
    let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.reserve(HEADER_SIZE + data.len());
    out.push(VERSION);
    out.push(cmd as u8);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&stream.0.to_le_bytes());
    out.extend_from_slice(data);
}

/// Appends `data` as PSH frames of at most `max_frame_size` bytes each (xtaci/smux
/// `Stream.Write`, v1 path: "frame split and transmit"). Empty data appends nothing.
pub fn encode_data(out: &mut Vec<u8>, stream: StreamId, data: &[u8], max_frame_size: usize) {
    let size = max_frame_size.clamp(1, usize::from(u16::MAX));
    for chunk in data.chunks(size) {
        encode_frame(out, Cmd::Psh, stream, chunk);
    }
}

/// Incremental frame decoder: feed it byte chunks of any size; it keeps at most one partial
/// frame (8 + 65535 bytes), never panics, and stops for good at the first invalid header.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    header: [u8; HEADER_SIZE],
    header_len: usize,
    /// The header of the frame whose data is being collected, once the header is complete.
    current: Option<(Cmd, StreamId, usize)>,
    data: Vec<u8>,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held for a frame that is not complete yet (bounded by 8 + 65535).
    pub fn partial_len(&self) -> usize {
        self.header_len + self.data.len()
    }

    /// Decodes every frame completed by `input` and hands each to `on_frame`, in order. Returns
    /// the error at the first invalid header (frames before it were delivered), and the same
    /// error on every later call. If `on_frame` breaks, decoding stops there and the rest of
    /// `input` is discarded (the owner is ending the session).
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut on_frame: impl FnMut(Frame) -> ControlFlow<()>,
    ) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        while !input.is_empty() {
            match self.current {
                None => {
                    let take = (HEADER_SIZE - self.header_len).min(input.len());
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&input[..take]);
                    self.header_len += take;
                    input = &input[take..];
                    if self.header_len < HEADER_SIZE {
                        break;
                    }
                    self.header_len = 0;
                    let (cmd, stream, length) = match parse_header(&self.header) {
                        Ok(parsed) => parsed,
                        Err(error) => {
                            self.failed = Some(error.clone());
                            return Err(error);
                        }
                    };
                    if length == 0 {
                        let frame = Frame {
                            cmd,
                            stream,
                            data: Vec::new(),
                        };
                        if on_frame(frame).is_break() {
                            return Ok(());
                        }
                    } else {
                        self.current = Some((cmd, stream, length));
                        self.data = Vec::with_capacity(length);
                    }
                }
                Some((cmd, stream, length)) => {
                    let take = (length - self.data.len()).min(input.len());
                    self.data.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if self.data.len() < length {
                        break;
                    }
                    self.current = None;
                    let frame = Frame {
                        cmd,
                        stream,
                        data: std::mem::take(&mut self.data),
                    };
                    if on_frame(frame).is_break() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks a header the way xtaci/smux's `recvLoop` does (the newer, stricter variant: a
/// version other than 1, a command other than SYN/FIN/PSH/NOP, or data on a SYN/FIN/NOP is a
/// protocol error).
fn parse_header(header: &[u8; HEADER_SIZE]) -> Result<(Cmd, StreamId, usize), FrameError> {
    let [version, cmd, l0, l1, s0, s1, s2, s3] = *header;
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let cmd = Cmd::from_wire(cmd).ok_or(FrameError::Command(cmd))?;
    let length = u16::from_le_bytes([l0, l1]);
    if cmd != Cmd::Psh && length != 0 {
        return Err(FrameError::UnexpectedData { cmd, length });
    }
    let stream = StreamId(u32::from_le_bytes([s0, s1, s2, s3]));
    Ok((cmd, stream, usize::from(length)))
}
