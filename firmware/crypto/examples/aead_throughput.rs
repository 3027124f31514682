//! AES-128-GCM seal+open throughput of one core through the provider's QUIC packet keys (the
//! path every 1-RTT packet takes), for the benchmark matrix's limits:
//!
//!     aead_throughput [PAYLOAD_BYTES] [SECONDS]      (default 1452 bytes, 1 second)
//!
//! Prints one JSON line: `{"provider":..,"payload_bytes":N,"packets":P,"seconds":S,"mb_per_s":X}`,
//! where X is payload bytes per second (10^6) that were both sealed and opened again.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fw_crypto::TLS13_AES_128_GCM_SHA256_INTERNAL as SUITE;
use rustls::Side;
use rustls::quic::{Keys, Version};

fn main() {
    let mut args = std::env::args().skip(1);
    let size: usize = match args.next().map(|a| a.parse()) {
        None => 1452,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => usage(),
    };
    let seconds: f64 = match args.next().map(|a| a.parse()) {
        None => 1.0,
        Some(Ok(s)) if s > 0.0 => s,
        Some(_) => usage(),
    };
    let quic = SUITE.quic.expect("the suite has QUIC keys");
    let cid = [7u8; 8];
    // The client's sealing key and the server's opening key of the same packets.
    let client = Keys::initial(Version::V1, SUITE, quic, &cid, Side::Client);
    let server = Keys::initial(Version::V1, SUITE, quic, &cid, Side::Server);
    let header = [0x43u8; 22];
    let mut packet = vec![0x5au8; size + 16];
    let mut packet_number = 0u64;
    let mut round = || {
        packet_number += 1;
        let (payload, tag_space) = packet.split_at_mut(size);
        let tag = client
            .local
            .packet
            .encrypt_in_place(packet_number, &header, payload)
            .expect("seal");
        tag_space.copy_from_slice(tag.as_ref());
        let plain = server
            .remote
            .packet
            .decrypt_in_place(packet_number, &header, &mut packet)
            .expect("open");
        black_box(plain.len());
    };
    for _ in 0..1000 {
        round();
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut packets = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            round();
        }
        packets += 100;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{{\"provider\":\"irohconf-fw-crypto (RustCrypto aes-gcm)\",\"payload_bytes\":{size},\"packets\":{packets},\"seconds\":{elapsed:.3},\"mb_per_s\":{:.1}}}",
        (packets as f64 * size as f64) / elapsed / 1e6
    );
}

fn usage() -> ! {
    eprintln!("usage: aead_throughput [PAYLOAD_BYTES > 0] [SECONDS > 0]");
    std::process::exit(2)
}
