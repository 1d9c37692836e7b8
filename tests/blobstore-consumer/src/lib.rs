//! A command that knows nothing of S3 or of spaces: it uses `wasi:blobstore` as any consumer would, so that the
//! tests can compose it with the spaces blobstore component (`wac plug`) and run the result under wasmtime. Each
//! run does one thing, named by its arguments (see `run`); what it reads comes out on stdout, an error on stderr
//! with a failing exit.

#[allow(missing_docs, unreachable_pub)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "consumer", generate_all });
}

use bindings::exports::wasi::cli::run::Guest;
use bindings::wasi::blobstore::blobstore;
use bindings::wasi::blobstore::container::Container;
use bindings::wasi::blobstore::types::{IncomingValue, ObjectId, OutgoingValue};
use bindings::wasi::cli::{environment, stderr, stdin, stdout};
use bindings::wasi::io::streams::{OutputStream, StreamError};

struct Consumer;

impl Guest for Consumer {
    fn run() -> Result<(), ()> {
        let args = environment::get_arguments();
        let args: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
        match command(&args) {
            Ok(out) => write_all(&stdout::get_stdout(), &out),
            Err(e) => {
                let _ = write_all(&stderr::get_stderr(), format!("blobstore-consumer: {e}\n").as_bytes());
                Err(())
            }
        }
    }
}

/// One command; its output.
fn command(args: &[&str]) -> Result<Vec<u8>, String> {
    let text = |s: String| Ok(format!("{s}\n").into_bytes());
    match args {
        ["create", c] => blobstore::create_container(c).map(|_| Vec::new()),
        ["delete-container", c] => blobstore::delete_container(c).map(|()| Vec::new()),
        ["exists", c] => text(blobstore::container_exists(c)?.to_string()),
        ["info", c] => {
            let info = blobstore::get_container(c)?.info()?;
            text(format!("{} {}", info.name, info.created_at))
        }
        ["put", c, name] => put(&blobstore::get_container(c)?, name, false),
        ["put-named-first", c, name] => put(&blobstore::get_container(c)?, name, true),
        ["get", c, name] => get(&blobstore::get_container(c)?, name, 0, u64::MAX, true),
        ["get-sync", c, name] => get(&blobstore::get_container(c)?, name, 0, u64::MAX, false),
        ["get", c, name, start, end] => {
            let (start, end) = (number(start)?, number(end)?);
            get(&blobstore::get_container(c)?, name, start, end, true)
        }
        ["list", c, batch] => list(&blobstore::get_container(c)?, number(batch)?, 0),
        ["list-after", c, skip] => list(&blobstore::get_container(c)?, 1000, number(skip)?),
        ["has", c, name] => text(blobstore::get_container(c)?.has_object(name)?.to_string()),
        ["stat", c, name] => {
            let m = blobstore::get_container(c)?.object_info(name)?;
            text(format!("{} {} {} {}", m.container, m.name, m.size, m.created_at))
        }
        ["copy", sc, so, dc, dobj] => blobstore::copy_object(&id(sc, so), &id(dc, dobj)).map(|()| Vec::new()),
        ["move", sc, so, dc, dobj] => blobstore::move_object(&id(sc, so), &id(dc, dobj)).map(|()| Vec::new()),
        ["delete", c, name] => blobstore::get_container(c)?.delete_object(name).map(|()| Vec::new()),
        ["delete-many", c, names @ ..] => {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            blobstore::get_container(c)?.delete_objects(&names).map(|()| Vec::new())
        }
        ["clear", c] => blobstore::get_container(c)?.clear().map(|()| Vec::new()),
        _ => Err(format!("unknown command {args:?}")),
    }
}

fn id(container: &str, object: &str) -> ObjectId {
    ObjectId { container: container.into(), object: object.into() }
}

fn number(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

/// Stores stdin as `name`: writing the body then naming it, or (`named_first`) naming it before writing, the
/// other order the interface allows.
fn put(container: &Container, name: &str, named_first: bool) -> Result<Vec<u8>, String> {
    let value = OutgoingValue::new_outgoing_value();
    if named_first {
        container.write_data(name, &value)?;
    }
    let Ok(body) = value.outgoing_value_write_body() else {
        // The draft gives this failure no reason; finishing the value is where an implementation can say why.
        let why = OutgoingValue::finish(value).err().unwrap_or_else(|| "no reason given".into());
        return Err(format!("the value gave no stream to write: {why}"));
    };
    let input = stdin::get_stdin();
    loop {
        match body.blocking_splice(&input, 1 << 20) {
            Ok(_) => {}
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
    body.blocking_flush().map_err(|e| format!("{e:?}"))?;
    drop(body);
    if !named_first {
        container.write_data(name, &value)?;
    }
    OutgoingValue::finish(value)?;
    Ok(Vec::new())
}

/// Bytes `start..=end` of `name`, read as a stream (`streamed`) or in one piece.
fn get(container: &Container, name: &str, start: u64, end: u64, streamed: bool) -> Result<Vec<u8>, String> {
    let value = container.get_data(name, start, end)?;
    let size = value.size();
    let bytes = if streamed {
        let stream = IncomingValue::incoming_value_consume_async(value)?;
        let mut out = Vec::new();
        loop {
            match stream.blocking_read(1 << 20) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
            }
        }
        out
    } else {
        IncomingValue::incoming_value_consume_sync(value)?
    };
    if bytes.len() as u64 != size {
        return Err(format!("the value said {size} bytes and gave {}", bytes.len()));
    }
    Ok(bytes)
}

/// Every name after the first `skip`, one per line, read `batch` at a time; then a line `end`.
fn list(container: &Container, batch: u64, skip: u64) -> Result<Vec<u8>, String> {
    let names = container.list_objects()?;
    let mut out = String::new();
    let (_, mut end) = names.skip_stream_object_names(skip)?;
    while !end {
        let (some, at_end) = names.read_stream_object_names(batch)?;
        some.iter().for_each(|n| out.push_str(&format!("{n}\n")));
        end = at_end;
    }
    out.push_str("end\n");
    Ok(out.into_bytes())
}

fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        let n = bytes.len().min(4096);
        stream.blocking_write_and_flush(&bytes[..n]).map_err(drop)?;
        bytes = &bytes[n..];
    }
    Ok(())
}

bindings::export!(Consumer with_types_in bindings);
