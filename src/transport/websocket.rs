//! WebSocket carriage for the Noise channel (RFC 6455, binary messages only), as real clients reach chatd: the
//! upgrade on both sides, then a byte stream whose bytes travel in binary messages, so frames may be split
//! across or merged within messages (RO-TRANSPORT-024). Bounded: the upgrade head is capped, every message is
//! capped, and the pump ends at its deadline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Largest WebSocket message read.
pub const MESSAGE_CAP: usize = 1 << 20;
/// Largest upgrade request or response head.
const HEAD_CAP: usize = 8 * 1024;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    STANDARD.encode(Sha1::new().chain_update(key.trim()).chain_update(GUID).finalize())
}

async fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= HEAD_CAP {
            return Err(format!("WebSocket upgrade head over {HEAD_CAP} bytes"));
        }
        match tokio::time::timeout_at(deadline, stream.read_exact(&mut byte)).await {
            Err(_) => return Err("the deadline passed during the WebSocket upgrade".into()),
            Ok(Err(e)) => return Err(format!("connection ended during the WebSocket upgrade: {e}")),
            Ok(Ok(_)) => head.push(byte[0]),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Server side: answer the upgrade, then carry the Noise bytes.
pub async fn accept(mut stream: TcpStream, deadline: Instant) -> Result<DuplexStream, String> {
    let head = read_head(&mut stream, deadline).await?;
    if !head.starts_with("GET ") {
        return Err(format!(
            "not a WebSocket upgrade: {:?}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let key = header(&head, "sec-websocket-key").ok_or("the upgrade has no Sec-WebSocket-Key")?;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    write(&mut stream, answer.as_bytes(), deadline).await?;
    Ok(bridge(stream, false, deadline))
}

/// Client side: upgrade `path` on `host`, then carry the Noise bytes.
pub async fn connect(
    mut stream: TcpStream,
    host: &str,
    path: &str,
    nonce: [u8; 16],
    deadline: Instant,
) -> Result<DuplexStream, String> {
    let key = STANDARD.encode(nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    write(&mut stream, request.as_bytes(), deadline).await?;
    let head = read_head(&mut stream, deadline).await?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(format!(
            "upgrade refused: {:?}",
            head.lines().next().unwrap_or_default()
        ));
    }
    if header(&head, "sec-websocket-accept") != Some(accept_key(&key).as_str()) {
        return Err("wrong Sec-WebSocket-Accept".into());
    }
    Ok(bridge(stream, true, deadline))
}

async fn write(stream: &mut TcpStream, bytes: &[u8], deadline: Instant) -> Result<(), String> {
    tokio::time::timeout_at(deadline, stream.write_all(bytes))
        .await
        .map_err(|_| "the deadline passed while writing".to_string())?
        .map_err(|e| format!("write failed: {e}"))
}

/// One end of a byte pipe whose other end travels as binary messages on `stream` until `deadline`.
fn bridge(stream: TcpStream, client: bool, deadline: Instant) -> DuplexStream {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let until = deadline + Duration::from_secs(1);
        let _ = tokio::time::timeout_at(until, pump(stream, theirs, client)).await;
    });
    ours
}

async fn pump(stream: TcpStream, inner: DuplexStream, client: bool) {
    let (mut socket_in, mut socket_out) = stream.into_split();
    let (mut from_us, mut to_us) = tokio::io::split(inner);
    let inbound = async move {
        while let Ok(Some(payload)) = read_message(&mut socket_in).await {
            if to_us.write_all(&payload).await.is_err() {
                break;
            }
        }
        let _ = to_us.shutdown().await;
    };
    let outbound = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_us.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if socket_out.write_all(&encode(0x2, &buf[..n], client)).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = socket_out.write_all(&encode(0x8, &[], client)).await;
        let _ = socket_out.shutdown().await;
    };
    tokio::join!(inbound, outbound);
}

/// The next binary payload; `None` at a close message or the end of the connection.
async fn read_message(socket: &mut (impl AsyncRead + Unpin)) -> Result<Option<Vec<u8>>, String> {
    loop {
        let mut h = [0u8; 2];
        if socket.read_exact(&mut h).await.is_err() {
            return Ok(None);
        }
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let len = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                socket.read_exact(&mut b).await.map_err(|e| e.to_string())?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                socket.read_exact(&mut b).await.map_err(|e| e.to_string())?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if len > MESSAGE_CAP as u64 {
            return Err(format!("a WebSocket message of {len} bytes (cap {MESSAGE_CAP})"));
        }
        let mut key = [0u8; 4];
        if masked {
            socket.read_exact(&mut key).await.map_err(|e| e.to_string())?;
        }
        let mut payload = vec![0u8; len as usize];
        socket.read_exact(&mut payload).await.map_err(|e| e.to_string())?;
        if masked {
            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
        }
        match opcode {
            0x0 | 0x2 => return Ok(Some(payload)),
            0x8 => return Ok(None),
            0x9 | 0xa => continue,
            other => {
                return Err(format!(
                    "WebSocket opcode {other:#x}; the Noise channel uses binary messages"
                ));
            }
        }
    }
}

/// One final message; a client masks (RFC 6455 §5.3) with a key drawn from the payload's length and bytes.
fn encode(opcode: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let flag = if mask { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(flag | n as u8),
        n if n <= 0xffff => {
            out.push(flag | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(flag | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if mask {
        let digest = Sha1::new()
            .chain_update(payload.len().to_be_bytes())
            .chain_update(payload)
            .finalize();
        let key = [digest[0], digest[1], digest[2], digest[3]];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6455_example_key() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[tokio::test]
    async fn bytes_cross_both_ways_in_binary_messages() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(5);
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            let mut pipe = accept(s, deadline).await.expect("upgrade");
            let mut got = [0u8; 5];
            pipe.read_exact(&mut got).await.expect("read");
            pipe.write_all(&[got.as_slice(), &vec![9; 70_000]].concat())
                .await
                .expect("write");
            got
        });
        let s = TcpStream::connect(addr).await.expect("connect");
        let mut pipe = connect(s, &addr.to_string(), "/chat", [3; 16], deadline)
            .await
            .expect("upgrade");
        pipe.write_all(b"hello").await.expect("write");
        let mut back = vec![0u8; 70_005];
        pipe.read_exact(&mut back).await.expect("read");
        assert_eq!(&back[..5], b"hello");
        assert_eq!(server.await.expect("server"), *b"hello");
    }
}
