//! One boot of the application.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use iroh::protocol::Router;
use iroh::{EndpointAddr, SecretKey, TransportAddr};
use iroh_tickets::endpoint::EndpointTicket;
use rustls::crypto::CryptoProvider;
use tokio::sync::mpsc;

use crate::console::{Command, HELP, HeapReport, LineAssembler, Lines, Log, Status};
use crate::counters::Counters;
use crate::dial::{self, DialResult};
use crate::echo::Echo;
use crate::platform::{Boot, Platform};
use crate::profile::{self, BindEndpointError, ECHO_ALPN};

/// How long a reset or stop waits for connections and the endpoint to close.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// What the application needs to start, the same for every boot.
#[derive(Debug, Clone)]
pub struct Config {
    /// The endpoint's identity (a board keeps it in flash; the virtual board keeps it in memory).
    pub secret_key: SecretKey,
    /// The one address the endpoint binds.
    pub bind: SocketAddr,
    /// The address to print and put in the ticket when `bind` is the unspecified address (a
    /// board binding 0.0.0.0 advertises its WiFi address).
    pub advertise_ip: Option<IpAddr>,
    /// The TLS crypto provider: [`profile::crypto_provider`] on every build of the firmware.
    pub crypto: Arc<CryptoProvider>,
    /// Behave as the iroh ESP32 examples' firmware: print only what it prints (no boot banner),
    /// take no console commands, and echo one stream per connection, so the suite can be checked
    /// against such firmware without a board.
    pub example_firmware: bool,
}

impl Config {
    /// The firmware's configuration: the profile's crypto provider, binding `bind`.
    pub fn new(secret_key: SecretKey, bind: SocketAddr) -> Self {
        Self {
            secret_key,
            bind,
            advertise_ip: None,
            crypto: profile::crypto_provider(),
            example_firmware: false,
        }
    }
}

/// How a boot of the application ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The console asked for `reset`: the board restarts (the virtual board runs again).
    Reset,
    /// The `stop` future completed (the virtual board got SIGINT or SIGTERM).
    Stopped,
}

/// The application could not start.
#[derive(Debug)]
pub enum RunError {
    Bind(BindEndpointError),
    /// The bound endpoint reports no socket, so there is no address to print.
    NoBoundSocket,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Bind(err) => err.fmt(f),
            RunError::NoBoundSocket => f.write_str("the endpoint reports no bound socket"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs one boot: banner, endpoint, echo, console, until `reset` or `stop`.
///
/// `input` carries raw console bytes as the platform reads them; it outlives a boot, as a UART
/// does. Errors are printed on the console (an `E` line) and returned.
pub async fn run(
    config: &Config,
    platform: &Platform,
    boot: Boot,
    input: &mut mpsc::Receiver<Vec<u8>>,
    stop: impl Future<Output = ()>,
) -> Result<Exit, RunError> {
    let log = Log::new(platform.clock.clone(), platform.console.clone());
    if !config.example_firmware {
        log.info(Lines::banner(crate::VERSION, boot));
    }

    let Started {
        router,
        listening,
        ticket,
        counters,
    } = match Box::pin(start(config, &log)).await {
        Ok(started) => started,
        Err(err) => {
            log.error(format_args!("Startup failed: {err}"));
            return Err(err);
        }
    };
    let endpoint_id = router.endpoint().id();

    log.info(Lines::endpoint_bound());
    log.info(Lines::listening_on(listening));
    log.info(Lines::endpoint_id(endpoint_id));
    log.info(Lines::long_ticket(&ticket));
    log.info(Lines::router_started());
    platform.heap.application_ready();

    let mut assembler = LineAssembler::new();
    let mut lines = Vec::new();
    let mut input_open = true;
    // At most one dial at a time: a board has room for one client connection beside its server.
    let mut dialing: Option<tokio::task::JoinHandle<()>> = None;
    tokio::pin!(stop);
    let exit = 'serve: loop {
        tokio::select! {
            () = &mut stop => break 'serve Exit::Stopped,
            received = input.recv(), if input_open => {
                let Some(bytes) = received else {
                    // The console is gone (the platform's reader ended); keep serving echo.
                    input_open = false;
                    continue;
                };
                if config.example_firmware {
                    continue; // the examples' firmware reads nothing from its console
                }
                assembler.push(&bytes, &mut lines);
                for line in lines.drain(..) {
                    match Command::parse(&line) {
                        Command::Nothing => {}
                        Command::Help => HELP.iter().for_each(|text| log.info(text)),
                        Command::Id => log.info(Lines::endpoint_id(endpoint_id)),
                        Command::Ticket => log.info(Lines::long_ticket(&ticket)),
                        Command::Status => log.info(status(platform, &counters)),
                        Command::Heap => log.info(HeapReport {
                            heap_free: platform.heap.free(),
                            heap_min: platform.heap.min_free(),
                            window: platform.heap.take_window(),
                        }),
                        Command::Dial(Err(err)) => {
                            log.info(DialResult::not_started(endpoint_id, err))
                        }
                        Command::Dial(Ok(_)) if dialing.as_ref().is_some_and(|d| !d.is_finished()) => {
                            log.info(DialResult::not_started(
                                endpoint_id,
                                "another dial is still running",
                            ))
                        }
                        Command::Dial(Ok(request)) => {
                            let endpoint = router.endpoint().clone();
                            let random = config.crypto.secure_random;
                            let log = log.clone();
                            dialing = Some(tokio::spawn(async move {
                                log.info(dial::dial(&endpoint, &request, random).await);
                            }));
                        }
                        Command::Reset => {
                            log.info(Lines::restarting());
                            break 'serve Exit::Reset;
                        }
                        Command::Unknown(text) => log.warn(Lines::unknown_command(&text)),
                    }
                }
            }
        }
    };

    if let Some(dialing) = dialing {
        dialing.abort();
    }
    if Box::pin(tokio::time::timeout(SHUTDOWN_TIMEOUT, router.shutdown()))
        .await
        .is_err()
    {
        log.warn(format_args!(
            "Shutdown took longer than {SHUTDOWN_TIMEOUT:?}; going on"
        ));
    }
    Ok(exit)
}

/// A started endpoint: its router, the address and ticket to print, its counters.
struct Started {
    router: Router,
    listening: SocketAddr,
    ticket: EndpointTicket,
    counters: Arc<Counters>,
}

/// The STATUS figures now.
fn status(platform: &Platform, counters: &Counters) -> Status {
    Status {
        uptime_ms: platform.clock.uptime_ms(),
        open_connections: counters.open_connections(),
        connections_served: counters.connections_served(),
        bytes_echoed: counters.bytes_echoed(),
        heap_free: platform.heap.free(),
        heap_min: platform.heap.min_free(),
    }
}

/// Binds the endpoint, starts the router, and works out the address and ticket to print.
async fn start(config: &Config, log: &Log) -> Result<Started, RunError> {
    let endpoint = profile::bind_endpoint(
        config.secret_key.clone(),
        config.bind,
        config.crypto.clone(),
    )
    .await
    .map_err(RunError::Bind)?;
    let Some(bound) = endpoint.bound_sockets().first().copied() else {
        endpoint.close().await;
        return Err(RunError::NoBoundSocket);
    };
    let listening = match (bound.ip().is_unspecified(), config.advertise_ip) {
        (true, Some(ip)) => SocketAddr::new(ip, bound.port()),
        _ => bound,
    };
    // The long ticket names exactly the address printed: no relay, no other interfaces.
    let addr = EndpointAddr::from_parts(endpoint.id(), [TransportAddr::Ip(listening)]);
    let ticket = EndpointTicket::new(addr);
    let counters = Arc::new(Counters::default());
    let mut echo = Echo::new(counters.clone(), log.clone());
    if config.example_firmware {
        echo = echo.one_stream_per_connection();
    }
    let router = Router::builder(endpoint).accept(ECHO_ALPN, echo).spawn();
    Ok(Started {
        router,
        listening,
        ticket,
        counters,
    })
}
