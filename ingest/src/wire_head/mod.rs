//! Headers exactly as on the wire. hyper groups header values by lower-cased
//! name, which loses the order across names and the case senders used; both
//! are part of "exactly as sent". So the bytes of each webhook connection are
//! also read here: the recorder finds each request head in the byte stream
//! (skipping bodies by their framing) and queues its header lines for the
//! request hyper parses from the same bytes. hyper still parses and frames;
//! this copy only records, and ingest keeps hyper's view (and says so on the
//! capture) whenever the two disagree or the recorder lost its place.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use bytes::Bytes;
use common::{Header, HeaderOrder};

mod io;

pub use io::Recording;

/// The header lines of one request head, in wire order, names as sent.
/// Inserted into the request's extensions by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireHead(pub Vec<(String, Bytes)>);

/// The capture's headers: the recorded lines when they hold exactly the
/// headers hyper parsed (the same names and values, only order and case may
/// differ), otherwise hyper's grouping.
pub fn headers_as_sent(head: Option<WireHead>, parsed: &HeaderMap) -> (Vec<Header>, HeaderOrder) {
    if let Some(WireHead(lines)) = head {
        let mut recorded: Vec<(String, &[u8])> = lines
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_ref()))
            .collect();
        // hyper's names are lower-case already: borrowed, not copied.
        let mut hypers: Vec<(&str, &[u8])> = parsed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        recorded.sort_unstable();
        hypers.sort_unstable();
        let same = recorded.len() == hypers.len()
            && recorded
                .iter()
                .zip(&hypers)
                .all(|((n, v), (hn, hv))| n == hn && v == hv);
        if same {
            let headers = lines
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect();
            return (headers, HeaderOrder::Wire);
        }
        tracing::debug!("recorded head disagrees with hyper's; keeping hyper's");
    }
    let headers = parsed
        .iter()
        .map(|(name, value)| Header {
            name: name.as_str().to_owned(),
            value: Bytes::copy_from_slice(value.as_bytes()),
        })
        .collect();
    (headers, HeaderOrder::Grouped)
}

/// Heads queued at most per connection (pipelined requests not yet handled).
const MAX_QUEUED: usize = 64;

/// Where the recorder is in the connection's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    Trailers,
    /// Lost its place (HTTP/2, an upgrade, something hyper may accept but
    /// this reader does not): records nothing more on this connection.
    Off,
}

#[derive(Debug)]
struct Recorder {
    state: State,
    /// A partial head, chunk-size line or trailer line.
    buf: Vec<u8>,
    heads: VecDeque<WireHead>,
    max_headers: usize,
    max_head_bytes: usize,
}

/// One connection's recorder, shared by its reader and its request handler.
#[derive(Debug, Clone)]
pub struct WireHeads(Arc<Mutex<Recorder>>);

impl WireHeads {
    /// Limits as the server's: a head past them is refused by hyper anyway.
    pub fn new(max_headers: usize, max_head_bytes: usize) -> Self {
        Self(Arc::new(Mutex::new(Recorder {
            state: State::Head,
            buf: Vec::new(),
            heads: VecDeque::new(),
            max_headers,
            max_head_bytes,
        })))
    }

    /// The head of the next request hyper hands over (HTTP/1 handles one
    /// request at a time per connection, in order).
    pub fn next_head(&self) -> Option<WireHead> {
        self.lock().heads.pop_front()
    }

    fn feed(&self, input: &[u8]) {
        self.lock().feed(input);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Recorder {
    fn feed(&mut self, input: &[u8]) {
        if self.state == State::Off || input.is_empty() {
            return;
        }
        if self.buf.is_empty() {
            let used = self.run(input);
            self.buf.extend_from_slice(&input[used..]);
        } else {
            let mut data = std::mem::take(&mut self.buf);
            data.extend_from_slice(input);
            let used = self.run(&data);
            data.drain(..used);
            self.buf = data;
        }
        if self.buf.len() > self.max_head_bytes || self.heads.len() > MAX_QUEUED {
            self.off();
        }
    }

    /// Consumes what it can; returns how many bytes (the rest waits for more).
    fn run(&mut self, data: &[u8]) -> usize {
        let mut at = 0;
        while at < data.len() && self.state != State::Off {
            match self.step(&data[at..]) {
                0 => break,
                n => at += n,
            }
        }
        if self.state == State::Off {
            data.len()
        } else {
            at
        }
    }

    /// One step of the framing; 0 when more bytes are needed.
    fn step(&mut self, d: &[u8]) -> usize {
        match self.state {
            State::Off => d.len(),
            State::Head => self.head(d),
            State::Body(n) => {
                let k = skip(n, d.len());
                self.state = if n == k {
                    State::Head
                } else {
                    State::Body(n - k)
                };
                k as usize
            }
            State::ChunkSize => match httparse::parse_chunk_size(d) {
                Ok(httparse::Status::Complete((len, 0))) => {
                    self.state = State::Trailers;
                    len
                }
                Ok(httparse::Status::Complete((len, size))) => {
                    self.state = State::ChunkData(size);
                    len
                }
                Ok(httparse::Status::Partial) => 0,
                Err(_) => self.off(),
            },
            State::ChunkData(n) => {
                let k = skip(n, d.len());
                self.state = if n == k {
                    State::ChunkEnd
                } else {
                    State::ChunkData(n - k)
                };
                k as usize
            }
            State::ChunkEnd => match d {
                [b'\r', b'\n', ..] => {
                    self.state = State::ChunkSize;
                    2
                }
                [b'\r'] => 0,
                _ => self.off(),
            },
            State::Trailers => match d.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.state = State::Head;
                    2
                }
                Some(i) => i + 2,
                None => 0,
            },
        }
    }

    fn head(&mut self, d: &[u8]) -> usize {
        // Empty lines before a request line are allowed (RFC 9112 2.2).
        if d[0] == b'\r' || d[0] == b'\n' {
            return 1;
        }
        let mut slots = vec![httparse::EMPTY_HEADER; self.max_headers];
        let mut request = httparse::Request::new(&mut slots);
        let len = match request.parse(d) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return 0,
            // HTTP/2's preface, too many headers, garbage: hyper decides.
            Err(_) => return self.off(),
        };
        let lines: Vec<(String, Bytes)> = request
            .headers
            .iter()
            .map(|h| (h.name.to_owned(), Bytes::copy_from_slice(h.value)))
            .collect();
        let upgrade = request.method == Some("CONNECT")
            || lines.iter().any(|(n, _)| n.eq_ignore_ascii_case("upgrade"));
        let next = framing(&lines);
        self.heads.push_back(WireHead(lines));
        self.state = match next {
            // After an upgrade the bytes may be another protocol.
            _ if upgrade => State::Off,
            Some(state) => state,
            None => State::Off,
        };
        len
    }

    fn off(&mut self) -> usize {
        self.state = State::Off;
        self.buf = Vec::new();
        0
    }
}

/// How many of `n` remaining body bytes the `available` ones cover.
fn skip(n: u64, available: usize) -> u64 {
    n.min(available as u64)
}

/// What follows a request head (RFC 9112 6.3); `None` for framing this
/// reader does not follow (hyper refuses most of it).
fn framing(lines: &[(String, Bytes)]) -> Option<State> {
    let values = |name: &'static str| {
        lines
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    if let Some(last) = values("transfer-encoding").last() {
        let chunked = last
            .rsplit(|&b| b == b',')
            .next()
            .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        return chunked.then_some(State::ChunkSize);
    }
    let mut length = None;
    for v in values("content-length") {
        for part in v.split(|&b| b == b',') {
            let n: u64 = std::str::from_utf8(part.trim_ascii()).ok()?.parse().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        }
    }
    Some(match length {
        Some(n) if n > 0 => State::Body(n),
        _ => State::Head,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &WireHead) -> Vec<&str> {
        h.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Feeds `input` in pieces of `step` bytes.
    fn record(input: &[u8], step: usize) -> WireHeads {
        let heads = WireHeads::new(100, 64 << 10);
        for piece in input.chunks(step) {
            heads.feed(piece);
        }
        heads
    }

    const PIPELINED: &[u8] = b"POST /a HTTP/1.1\r\nHost: x\r\nX-B: 1\r\nx-a: 2\r\nX-B: 3\r\nContent-Length: 5\r\n\r\nhello\
POST /b HTTP/1.1\r\nhost: x\r\nTransfer-Encoding: chunked\r\nX-Z: z\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n\
\r\nGET /c HTTP/1.1\r\nHOST: x\r\n\r\n";

    #[test]
    fn pipelined_heads_are_found_in_order_whatever_the_read_sizes() {
        for step in [1, 2, 3, 7, 64, PIPELINED.len()] {
            let heads = record(PIPELINED, step);
            let a = heads.next_head().unwrap();
            assert_eq!(
                names(&a),
                ["Host", "X-B", "x-a", "X-B", "Content-Length"],
                "step {step}"
            );
            assert_eq!(a.0[3].1, Bytes::from_static(b"3"));
            let b = heads.next_head().unwrap();
            assert_eq!(
                names(&b),
                ["host", "Transfer-Encoding", "X-Z"],
                "step {step}"
            );
            let c = heads.next_head().unwrap();
            assert_eq!(names(&c), ["HOST"], "step {step}");
            assert!(heads.next_head().is_none());
        }
    }

    #[test]
    fn http2_and_upgrades_turn_the_recorder_off() {
        let heads = record(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 5);
        assert!(heads.next_head().is_none());
        let heads = record(
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
            100,
        );
        assert!(heads.next_head().is_some());
        assert!(heads.next_head().is_none());
    }

    #[test]
    fn a_broken_chunk_turns_the_recorder_off() {
        let heads = record(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET / HTTP/1.1\r\n\r\n",
            4,
        );
        assert!(heads.next_head().is_some());
        assert!(heads.next_head().is_none());
    }
}
