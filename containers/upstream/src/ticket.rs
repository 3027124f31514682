//! `ticket decode` / `ticket encode` with iroh-tickets on the iroh-base this build is pinned to.
//! Addresses are printed in iroh's own order (the `BTreeSet` of `EndpointAddr`: relay < ip <
//! custom), so differences with another decoder show up byte for byte.

use std::{ffi::OsStr, io::BufRead, net::SocketAddr, panic::AssertUnwindSafe};

use clap::Args;
use iroh_base::{CustomAddr, EndpointAddr, RelayUrl, TransportAddr};
use iroh_tickets::{Ticket, endpoint::EndpointTicket};
use serde_json::{Value, json};

use crate::{
    endpoint::parse_endpoint_id,
    output::{Failure, print_json},
};

#[derive(Args)]
pub struct EncodeArgs {
    /// Endpoint id: 64 hex or 52 base32 characters.
    #[arg(long)]
    id: String,
    /// IP address IP:PORT (repeatable).
    #[arg(long = "addr")]
    addrs: Vec<SocketAddr>,
    /// Relay URL (repeatable).
    #[arg(long = "relay")]
    relays: Vec<String>,
    /// Custom transport address ID:HEX, ID decimal or 0x-hex (repeatable).
    #[arg(long = "custom")]
    customs: Vec<String>,
}

/// `ticket decode TICKET`: the ticket's content, or exit 2. `ticket decode -`: one answer per
/// line of stdin, in order, each naming its input (`{"ticket": ..., ...}` or `{"ticket": ...,
/// "error": ...}`); exit 0 once every line was answered.
pub fn decode(ticket: &OsStr) -> Result<(), Failure> {
    if ticket != "-" {
        let text = ticket
            .to_str()
            .ok_or_else(|| Failure::Invalid("invalid ticket: not UTF-8 text".into()))?;
        return decode_one(text).map(|described| print_json(&described));
    }
    // Lines are read as bytes: a mutated ticket need not be UTF-8, and it still gets its answer.
    for line in std::io::stdin().lock().split(b'\n') {
        let line = line.map_err(|err| Failure::Failed(format!("reading stdin: {err}")))?;
        // The line terminator is not part of the input; anything else is, as it came.
        let input = line.strip_suffix(b"\r").unwrap_or(&line);
        let answer = match std::str::from_utf8(input) {
            Err(err) => json!({
                "ticket": String::from_utf8_lossy(input),
                "error": format!("invalid ticket: not UTF-8 text: {err}"),
            }),
            Ok(text) => match decode_one(text) {
                Ok(mut described) => {
                    described["ticket"] = json!(text);
                    described
                }
                Err(Failure::Invalid(err) | Failure::Failed(err) | Failure::Unsupported(err)) => {
                    json!({ "ticket": text, "error": err })
                }
                Err(Failure::Reported(_)) => unreachable!("decode_one prints nothing"),
            },
        };
        print_json(&answer);
    }
    Ok(())
}

fn decode_one(text: &str) -> Result<Value, Failure> {
    // iroh-base 1.0.x deserializes a custom address's inline length without checking it and
    // panics when the data is read: while describing the ticket, or already while decoding it
    // (ordering the address set compares the data). Report that as the failure it is, not as
    // a crash that would take a whole batch down.
    // The panic becomes the answer's error, so the default hook's report on stderr is dropped.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let ticket = EndpointTicket::decode_string(text)
            .map_err(|err| Failure::Invalid(format!("invalid ticket: {err}")))?;
        Ok(describe(ticket.endpoint_addr()))
    }));
    std::panic::set_hook(hook);
    decoded.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(Failure::Failed(format!(
            "iroh {} panicked on the ticket: {message}",
            crate::IROH_VERSION
        )))
    })
}

pub fn encode(args: &EncodeArgs) -> Result<(), Failure> {
    let id = parse_endpoint_id(&args.id).map_err(|err| Failure::Invalid(format!("--id: {err}")))?;
    let mut addrs = Vec::new();
    for relay in &args.relays {
        let url: RelayUrl = relay
            .parse()
            .map_err(|err| Failure::Invalid(format!("--relay {relay:?}: {err}")))?;
        addrs.push(TransportAddr::Relay(url));
    }
    addrs.extend(args.addrs.iter().copied().map(TransportAddr::Ip));
    for custom in &args.customs {
        addrs.push(TransportAddr::Custom(parse_custom(custom)?));
    }
    let ticket = EndpointTicket::new(EndpointAddr::from_parts(id, addrs));
    print_json(&json!({ "ticket": ticket.encode_string() }));
    Ok(())
}

/// The ticket as the contract's JSON: `{"endpoint_id": ..., "addrs": [...]}`.
pub fn describe(addr: &EndpointAddr) -> Value {
    let addrs: Vec<Value> = addr.addrs.iter().map(describe_transport_addr).collect();
    json!({ "endpoint_id": addr.id.to_string(), "addrs": addrs })
}

fn describe_transport_addr(addr: &TransportAddr) -> Value {
    match addr {
        TransportAddr::Relay(url) => json!({ "type": "relay", "url": url.to_string() }),
        TransportAddr::Ip(addr) => json!({ "type": "ip", "addr": addr.to_string() }),
        TransportAddr::Custom(custom) => {
            json!({ "type": "custom", "id": custom.id(), "data": hex::encode(custom.data()) })
        }
        // TransportAddr is non-exhaustive; a variant added later must not go unnoticed.
        other => json!({ "type": "unknown", "debug": format!("{other:?}") }),
    }
}

fn parse_custom(text: &str) -> Result<CustomAddr, Failure> {
    let invalid = |why: &str| Failure::Invalid(format!("--custom {text:?}: {why} (want ID:HEX)"));
    let (id, data) = text.split_once(':').ok_or_else(|| invalid("no ':'"))?;
    let id = match id.strip_prefix("0x") {
        Some(hex_id) => u64::from_str_radix(hex_id, 16),
        None => id.parse(),
    }
    .map_err(|_| invalid("ID is not a 64-bit number"))?;
    let data = hex::decode(data).map_err(|_| invalid("data is not hex"))?;
    Ok(CustomAddr::from_parts(id, &data))
}
