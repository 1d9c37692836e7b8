//! Objects written by `spaces` read byte-identical by s3cmd and rclone, and the other way round.

use spaces_tests::{pattern, run, sha256, Bucket};
use std::process::Command;

fn rclone(b: &Bucket, args: &[&str]) -> std::process::Output {
    let mut c = Command::new("rclone");
    c.env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_RGW_TYPE", "s3")
        .env("RCLONE_CONFIG_RGW_PROVIDER", "Ceph")
        .env("RCLONE_CONFIG_RGW_ENDPOINT", &b.rgw.endpoint)
        .env("RCLONE_CONFIG_RGW_ACCESS_KEY_ID", &b.rgw.access_key)
        .env("RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY", &b.rgw.secret_key)
        .env("RCLONE_CONFIG_RGW_FORCE_PATH_STYLE", "true")
        .args(args);
    run(&mut c)
}

#[test]
fn s3cmd_reads_what_spaces_wrote_and_back() {
    let b = Bucket::new("s3cmd");
    let data = pattern(6 << 20, 5);
    std::fs::write(b.path("a"), &data).unwrap();
    b.ok(&["put", "a", "dir/from spaces", "--multipart-threshold", "5242880", "--part-size", "5242880"]);
    b.s3cmd_ok(&["get", &format!("s3://{}/dir/from spaces", b.name), b.path("via-s3cmd").to_str().unwrap()]);
    assert_eq!(sha256(&std::fs::read(b.path("via-s3cmd")).unwrap()), sha256(&data));

    let other = pattern(300_000, 6);
    std::fs::write(b.path("b"), &other).unwrap();
    b.s3cmd_ok(&["put", b.path("b").to_str().unwrap(), &format!("s3://{}/from-s3cmd/ü.bin", b.name)]);
    b.ok(&["get", "from-s3cmd/ü.bin", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&other));
}

#[test]
fn rclone_reads_what_spaces_wrote_and_back() {
    let b = Bucket::new("rclone");
    let data = pattern(1 << 20, 7);
    std::fs::write(b.path("a"), &data).unwrap();
    b.ok(&["put", "a", "x/spaces.bin"]);
    let out = rclone(&b, &["cat", &format!("rgw:{}/x/spaces.bin", b.name)]);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert_eq!(sha256(&out.stdout), sha256(&data));

    let out = rclone(&b, &["copyto", b.path("a").to_str().unwrap(), &format!("rgw:{}/y/rclone é.bin", b.name)]);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    b.ok(&["get", "y/rclone é.bin", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data));
}
