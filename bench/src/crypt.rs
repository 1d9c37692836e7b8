//! The encryption section: the large object stored and fetched by `spaces` encrypted to an age recipient, beside the
//! same transfers in the clear, in the same rounds — MiB/s and the client's CPU-seconds per GiB (user + system of
//! the `spaces` process, which the shared machine's noise and RGW's own CPU use do not distort). The anchor is
//! our own plain transfer: no other client here encrypts in age format.

use super::{check_len, measured, mib_per_s, write_random_file, Result, Row, Settings, MIB};
use std::time::Duration;

/// Wall time and CPU-seconds, best of the runs.
#[derive(Clone, Copy)]
struct Best {
    wall: Duration,
    cpu: f64,
}

impl Best {
    fn take(&mut self, wall: Duration, cpu: f64) {
        self.wall = self.wall.min(wall);
        self.cpu = self.cpu.min(cpu);
    }
}

pub fn encrypted(s: &Settings, rows: &mut Vec<Row>) -> Result<()> {
    let size = s.large_bytes;
    let big = s.work.join("crypt.bin");
    let out = s.work.join("crypt.out");
    let id = s.work.join("crypt.key");
    write_random_file(&big, size, 0xc0de)?;
    let _ = std::fs::remove_file(&id);
    let keygen = s.spaces(&["keygen", "-o", id.to_str().ok_or("work dir must be UTF-8")?]).output()?;
    let stderr = String::from_utf8_lossy(&keygen.stderr);
    let recipient = stderr.lines().find_map(|l| l.strip_prefix("Public key: ")).ok_or("keygen printed no key")?;
    let (big_s, out_s, id_s) = (big.to_str().unwrap(), out.to_str().unwrap(), id.to_str().unwrap());
    eprintln!("bench: {} MiB PUT/GET encrypted and in the clear, best of {}", size / MIB, s.runs);
    let none = Best { wall: Duration::MAX, cpu: f64::MAX };
    let (mut put, mut get) = ([none; 2], [none; 2]);
    for _ in 0..s.runs {
        for (i, extra) in [&[][..], &["--encrypt-to", recipient][..]].into_iter().enumerate() {
            let key = format!("crypt/{i}");
            let mut args = vec!["put", big_s, key.as_str()];
            args.extend_from_slice(extra);
            let cost = measured(&mut s.spaces(&args))?;
            put[i].take(cost.wall, cost.cpu);
            std::thread::sleep(s.settle);
        }
        for (i, extra) in [&[][..], &["--identity", id_s][..]].into_iter().enumerate() {
            let key = format!("crypt/{i}");
            let _ = std::fs::remove_file(&out);
            let mut args = vec!["get", key.as_str(), out_s];
            args.extend_from_slice(extra);
            let cost = measured(&mut s.spaces(&args))?;
            check_len(&out, size)?;
            get[i].take(cost.wall, cost.cpu);
        }
    }
    let gib = size as f64 / (1024.0 * MIB as f64);
    for (verb, [plain, sealed]) in [("PUT", put), ("GET", get)] {
        rows.push(Row {
            figure: format!("{} MiB {verb} encrypted (MiB/s)", size / MIB),
            ours: mib_per_s(size, sealed.wall),
            unit: "MiB/s",
            anchors: vec![("spaces in the clear", mib_per_s(size, plain.wall))],
            lower_is_better: false,
        });
        rows.push(Row {
            figure: format!("{verb} client CPU, encrypted (s/GiB)"),
            ours: sealed.cpu / gib,
            unit: "CPU-s",
            anchors: vec![("spaces in the clear", plain.cpu / gib)],
            lower_is_better: true,
        });
    }
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&big);
    Ok(())
}
