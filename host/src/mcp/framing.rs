//! A guard in front of the SDK's stdio transport, for the JSON-RPC errors a client is owed that the SDK does not
//! send: a line that is not JSON gets a parse error (-32700) instead of silence, and a `tools/call` whose
//! `arguments` is not an object gets invalid params (-32602) instead of "method not found". Every other line
//! passes through untouched. The guard's answers and the server's share stdout line by line, never interleaved.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// What the guard makes of one line from the client.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Hand it to the server.
    Pass,
    /// Answer it with this JSON-RPC error response; the server never sees it.
    Answer(Value),
}

/// Judges one line (without its newline). Blank lines pass: the transport skips them.
fn judge(line: &[u8]) -> Verdict {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass;
    }
    let Ok(message) = serde_json::from_slice::<Value>(line) else {
        return Verdict::Answer(error(Value::Null, -32700, "Parse error: the line is not JSON"));
    };
    let arguments = message.get("params").and_then(|p| p.get("arguments"));
    let bad_arguments = message.get("method").and_then(Value::as_str) == Some("tools/call")
        && arguments.is_some_and(|a| !a.is_object() && !a.is_null());
    if bad_arguments {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        return Verdict::Answer(error(id, -32602, "Invalid params: `arguments` must be an object"));
    }
    Verdict::Pass
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The ends the SDK's transport reads from and writes to; `client_in` and `client_out` are the real stdin and
/// stdout. Lines longer than `max_line` pass through for the transport to drop, as it does.
pub(super) fn guard(
    client_in: impl AsyncRead + Unpin + Send + 'static,
    client_out: impl AsyncWrite + Unpin + Send + 'static,
    max_line: usize,
) -> (DuplexStream, DuplexStream) {
    let (server_in, mut to_server) = tokio::io::duplex(1 << 16);
    let (from_server, server_out) = tokio::io::duplex(1 << 16);
    let (answers, mut answered) = mpsc::channel::<Vec<u8>>(16);
    tokio::spawn(async move {
        let mut lines = BufReader::new(client_in);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut lines).take(max_line as u64 + 1).read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let verdict = if body.len() > max_line { Verdict::Pass } else { judge(body) };
            match verdict {
                Verdict::Pass => {
                    if to_server.write_all(&line).await.is_err() {
                        break;
                    }
                }
                Verdict::Answer(reply) => {
                    let mut reply = serde_json::to_vec(&reply).unwrap_or_default();
                    reply.push(b'\n');
                    if answers.send(reply).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Closing the server's input ends the session, as the client closing stdin would.
        let _ = to_server.shutdown().await;
    });
    tokio::spawn(async move {
        let mut client_out = client_out;
        let mut server_lines = BufReader::new(from_server);
        // Not cleared between rounds: a read cut short by an answer keeps what it had read.
        let mut line = Vec::new();
        loop {
            let next = tokio::select! {
                read = server_lines.read_until(b'\n', &mut line) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => std::mem::take(&mut line),
                },
                Some(reply) = answered.recv() => reply,
            };
            if client_out.write_all(&next).await.is_err() || client_out.flush().await.is_err() {
                break;
            }
        }
    });
    (server_in, server_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_the_sdk_would_not() {
        let parse = judge(b"this is not json");
        assert!(matches!(&parse, Verdict::Answer(v) if v["error"]["code"] == -32700 && v["id"].is_null()));
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"head_object","arguments":[1]}}"#;
        assert!(matches!(judge(call), Verdict::Answer(v) if v["error"]["code"] == -32602 && v["id"] == 7));
        let fine = br#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"x","arguments":{"key":"k"}}}"#;
        assert_eq!(judge(fine), Verdict::Pass);
        assert_eq!(judge(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), Verdict::Pass);
        assert_eq!(judge(b"  "), Verdict::Pass);
    }
}
