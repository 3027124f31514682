//! The firmware on an ESP32: board start-up, then the application from `fw_app`.
//!
//! Start-up follows the iroh ESP32 examples (n0-computer/iroh-esp32-examples, server-esp32-s3):
//! ESP-IDF patches and logger, the eventfd VFS that mio (tokio) polls with, NVS, WiFi (station,
//! `WIFI_CONFIG` at build time), SNTP, and a current-thread tokio runtime built by hand. Beyond
//! them: the console's input driver, the secret made once the radio is on, WiFi power save off,
//! and heap figures for the console. Everything else (endpoint, echo, console lines, commands,
//! `dial`) is `fw_app::run`, the same code the virtual board runs on Linux.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use esp_idf_svc::eventloop::EspSystemEventLoop;
use esp_idf_svc::hal::modem::Modem;
use esp_idf_svc::hal::peripherals::Peripherals;
use esp_idf_svc::nvs::{EspDefaultNvsPartition, EspNvs, NvsDefault};
use esp_idf_svc::sntp::{EspSntp, SyncStatus};
use esp_idf_svc::sys;
use esp_idf_svc::wifi::{BlockingWifi, ClientConfiguration, Configuration, EspWifi};
use fw_app::platform::{Boot, Clock, ConsoleSink, Heap, HeapWindow, Platform, ResetReason};
use fw_app::{Config, Exit, SecretKey};
use log::{info, warn};
use tokio::sync::mpsc;

/// `SSID:PASSWORD`, read at build time.
const WIFI_CONFIG: &str = match option_env!("WIFI_CONFIG") {
    Some(value) => value,
    None => panic!("WIFI_CONFIG is not set: build with WIFI_CONFIG='SSID:PASSWORD'"),
};

/// Optional fixed identity, 64 hex digits, read at build time. Without it the board generates a
/// key on its first boot and keeps it in NVS, so the id survives resets.
const IROH_SECRET: Option<&str> = option_env!("IROH_SECRET");

/// NVS namespace and keys of the firmware's own state.
const NVS_NAMESPACE: &str = "irohconf";
const NVS_SECRET: &str = "secret";
const NVS_BOOTS: &str = "boots";

/// How long start-up waits for SNTP before going on without it (the examples wait 30 s too).
const SNTP_WAIT: Duration = Duration::from_secs(30);

/// The console reader thread's stack: one blocking read into a 64-byte buffer.
const CONSOLE_THREAD_STACK: usize = 4096;

/// tokio's blocking thread's stack, as the examples size it (`thread_stack_size(4096)`); the
/// firmware makes no blocking calls through tokio.
const BLOCKING_THREAD_STACK: usize = 4096;

/// The console driver's receive buffer: a few command lines (a `dial` line is up to 256 bytes).
const CONSOLE_RX_BUFFER: i32 = 1024;

fn main() {
    // Links the ESP-IDF runtime patches (pthread, time) that std needs.
    sys::link_patches();
    esp_idf_svc::log::EspLogger::initialize_default();
    register_eventfd();

    let reason = reset_reason();
    let peripherals = Peripherals::take().expect("peripherals taken twice");
    let sys_loop = EspSystemEventLoop::take().expect("system event loop");
    let nvs_partition = EspDefaultNvsPartition::take().expect("NVS partition");
    let mut nvs = EspNvs::new(nvs_partition.clone(), NVS_NAMESPACE, true).expect("NVS namespace");
    let boot = Boot {
        number: boot_number(&mut nvs, reason),
        reason,
    };

    let (_wifi, ip) = connect_wifi(peripherals.modem, sys_loop, nvs_partition);
    // Only now: esp_random() gives true random numbers once the WiFi radio runs; before, it is
    // a pseudo-random generator ("Random Number Generation", ESP-IDF API reference:
    // https://docs.espressif.com/projects/esp-idf/en/v5.3.3/esp32s3/api-reference/system/random.html).
    // SecretKey::generate draws from getrandom, which is esp_fill_random on ESP-IDF.
    let secret_key = secret_key(&mut nvs);
    let _sntp = sync_time();

    let mut input = spawn_console_reader();
    // As the examples build it: everything runs on the main task's stack
    // (CONFIG_ESP_MAIN_TASK_STACK_SIZE), one blocking thread with a small stack.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .thread_stack_size(BLOCKING_THREAD_STACK)
        .build()
        .expect("tokio runtime");

    // Bind every IPv4 address (the board has one: its WiFi station) and advertise the WiFi IP.
    let mut config = Config::new(secret_key, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    config.advertise_ip = Some(ip.into());
    let platform = Platform {
        clock: Arc::new(EspClock),
        heap: Arc::new(EspHeap::new()),
        console: Arc::new(StdoutConsole),
    };

    // Boxed: block_on keeps its future on the main task's stack, and the application's is large.
    let exit = runtime.block_on(Box::pin(fw_app::run(
        &config,
        &platform,
        boot,
        &mut input,
        std::future::pending(),
    )));
    match exit {
        Ok(Exit::Reset) | Ok(Exit::Stopped) => {}
        Err(err) => {
            // Already printed on the console as an E line; retry from a clean boot.
            warn!("application failed ({err}); restarting in 10 s");
            std::thread::sleep(Duration::from_secs(10));
        }
    }
    let _ = std::io::stdout().flush();
    // SAFETY: esp_restart has no preconditions; it does not return.
    unsafe { sys::esp_restart() };
}

/// mio's poller (under tokio) needs eventfd, which ESP-IDF provides as a VFS driver.
fn register_eventfd() {
    let config = sys::esp_vfs_eventfd_config_t {
        max_fds: 5,
        ..Default::default()
    };
    // SAFETY: called once at start-up with a valid configuration.
    sys::esp!(unsafe { sys::esp_vfs_eventfd_register(&config) }).expect("eventfd VFS");
}

fn reset_reason() -> ResetReason {
    // SAFETY: reads a value ESP-IDF recorded before main.
    match unsafe { sys::esp_reset_reason() } {
        sys::esp_reset_reason_t_ESP_RST_POWERON => ResetReason::PowerOn,
        sys::esp_reset_reason_t_ESP_RST_SW => ResetReason::Software,
        sys::esp_reset_reason_t_ESP_RST_PANIC => ResetReason::Panic,
        sys::esp_reset_reason_t_ESP_RST_INT_WDT
        | sys::esp_reset_reason_t_ESP_RST_TASK_WDT
        | sys::esp_reset_reason_t_ESP_RST_WDT => ResetReason::Watchdog,
        sys::esp_reset_reason_t_ESP_RST_BROWNOUT => ResetReason::Brownout,
        sys::esp_reset_reason_t_ESP_RST_EXT => ResetReason::External,
        sys::esp_reset_reason_t_ESP_RST_DEEPSLEEP => ResetReason::DeepSleep,
        _ => ResetReason::Unknown,
    }
}

/// Boots since power-on, counted in NVS (a power-on starts again at 1).
fn boot_number(nvs: &mut EspNvs<NvsDefault>, reason: ResetReason) -> u32 {
    let previous = if reason == ResetReason::PowerOn {
        0
    } else {
        nvs.get_u32(NVS_BOOTS).ok().flatten().unwrap_or(0)
    };
    let number = previous.saturating_add(1);
    if let Err(err) = nvs.set_u32(NVS_BOOTS, number) {
        warn!("cannot store the boot count in NVS: {err}");
    }
    number
}

/// The endpoint's secret: IROH_SECRET when built with one, else the one kept in NVS, else a new
/// one, stored for the next boot.
fn secret_key(nvs: &mut EspNvs<NvsDefault>) -> SecretKey {
    if let Some(hex) = IROH_SECRET {
        return fw_app::parse_secret_hex(hex).unwrap_or_else(|err| panic!("IROH_SECRET: {err}"));
    }
    let mut stored = [0u8; 32];
    if let Ok(Some(bytes)) = nvs.get_blob(NVS_SECRET, &mut stored) {
        if let Ok(bytes) = <[u8; 32]>::try_from(bytes) {
            return SecretKey::from_bytes(&bytes);
        }
        warn!("the secret in NVS has the wrong length; generating a new one");
    }
    let key = SecretKey::generate();
    if let Err(err) = nvs.set_blob(NVS_SECRET, &key.to_bytes()) {
        warn!("cannot store the secret in NVS ({err}); the id will change on the next boot");
    }
    key
}

fn connect_wifi(
    modem: Modem,
    sys_loop: EspSystemEventLoop,
    nvs: EspDefaultNvsPartition,
) -> (BlockingWifi<EspWifi<'static>>, Ipv4Addr) {
    let (ssid, password) = WIFI_CONFIG
        .split_once(':')
        .expect("WIFI_CONFIG must be SSID:PASSWORD");
    info!("Connecting to WiFi network: {ssid}");
    let mut wifi = BlockingWifi::wrap(
        EspWifi::new(modem, sys_loop.clone(), Some(nvs)).expect("EspWifi"),
        sys_loop,
    )
    .expect("BlockingWifi");
    let config = Configuration::Client(ClientConfiguration {
        ssid: ssid.try_into().expect("SSID longer than 32 bytes"),
        password: password.try_into().expect("password longer than 64 bytes"),
        ..Default::default()
    });
    wifi.set_configuration(&config).expect("WiFi configuration");
    wifi.start().expect("WiFi start");
    info!("WiFi started");
    // Power save off: in the station default (WIFI_PS_MIN_MODEM) the radio sleeps between DTIM
    // beacons and packets to the board wait for the next one, hundreds of milliseconds on many
    // access points ("Station Sleep", ESP-IDF Wi-Fi guide:
    // https://docs.espressif.com/projects/esp-idf/en/v5.3.3/esp32s3/api-guides/wifi.html#station-sleep).
    // SAFETY: called after esp_wifi_start, as the API requires.
    sys::esp!(unsafe { sys::esp_wifi_set_ps(sys::wifi_ps_type_t_WIFI_PS_NONE) })
        .expect("WiFi power save off");
    wifi.connect().expect("WiFi connect");
    info!("WiFi connected");
    wifi.wait_netif_up().expect("WiFi network interface up");
    let ip_info = wifi.wifi().sta_netif().get_ip_info().expect("WiFi IP info");
    info!("WiFi DHCP info: {ip_info:?}");
    (wifi, ip_info.ip)
}

/// Sets the clock from SNTP, waiting at most SNTP_WAIT. The returned handle keeps it in sync.
fn sync_time() -> Option<EspSntp<'static>> {
    info!("Starting SNTP time sync...");
    let sntp = match EspSntp::new_default() {
        Ok(sntp) => sntp,
        Err(err) => {
            warn!("SNTP unavailable ({err}), continuing anyway");
            return None;
        }
    };
    let started = std::time::Instant::now();
    while sntp.get_sync_status() != SyncStatus::Completed {
        if started.elapsed() > SNTP_WAIT {
            warn!(
                "SNTP sync timed out after {}s, continuing anyway",
                SNTP_WAIT.as_secs()
            );
            return Some(sntp);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    info!("SNTP synced");
    Some(sntp)
}

/// Installs the console's input driver and routes stdin through it, so reads block until a
/// byte arrives. Without a driver ESP-IDF's stdin reads the hardware FIFO without waiting
/// ("Standard I/O and Console Output", ESP-IDF API guide:
/// https://docs.espressif.com/projects/esp-idf/en/v5.3.3/esp32s3/api-guides/stdio.html), and
/// on a USB-Serial-JTAG console it sees no input at all. Which console it is comes from
/// sdkconfig (sdkconfig/console-*.defaults); the calls are the ones ESP-IDF's console example
/// makes (examples/system/console/basic).
fn install_console_driver() {
    #[cfg(esp_idf_esp_console_usb_serial_jtag)]
    {
        let mut config = sys::usb_serial_jtag_driver_config_t {
            tx_buffer_size: 256,
            rx_buffer_size: CONSOLE_RX_BUFFER as u32,
        };
        // SAFETY: called once, before any thread reads stdin.
        sys::esp!(unsafe { sys::usb_serial_jtag_driver_install(&mut config) })
            .expect("USB-Serial-JTAG driver");
        // SAFETY: the driver is installed.
        unsafe { sys::esp_vfs_usb_serial_jtag_use_driver() };
    }
    #[cfg(not(esp_idf_esp_console_usb_serial_jtag))]
    {
        let uart = sys::CONFIG_ESP_CONSOLE_UART_NUM as i32;
        // SAFETY: called once, before any thread reads stdin; no event queue.
        sys::esp!(unsafe {
            sys::uart_driver_install(uart, CONSOLE_RX_BUFFER, 0, 0, std::ptr::null_mut(), 0)
        })
        .expect("console UART driver");
        // SAFETY: the driver is installed on this UART.
        unsafe { sys::esp_vfs_dev_uart_use_driver(uart) };
    }
}

/// Reads the console (stdin) on its own thread and hands the bytes to the application. Reads
/// block in the driver; an error (none expected) is retried after a pause.
fn spawn_console_reader() -> mpsc::Receiver<Vec<u8>> {
    install_console_driver();
    let (tx, rx) = mpsc::channel(8);
    std::thread::Builder::new()
        .name("console".into())
        .stack_size(CONSOLE_THREAD_STACK)
        .spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })
        .expect("console thread");
    rx
}

/// Milliseconds since boot, from esp_timer (the clock of ESP-IDF's own log prefix).
struct EspClock;

impl Clock for EspClock {
    fn uptime_ms(&self) -> u64 {
        // SAFETY: esp_timer is started by ESP-IDF before main.
        (unsafe { sys::esp_timer_get_time() } / 1000) as u64
    }
}

/// The lowest free heap seen since the current heap window began, sampled after every Rust
/// allocation by [`SampledHeap`] (u32: the ESP32's heap figures are 32-bit).
static WINDOW_MIN_FREE: AtomicU32 = AtomicU32::new(u32::MAX);

/// The system allocator (ESP-IDF's malloc), sampling the free heap after every allocation for
/// the `heap` command's window. ESP-IDF keeps only a since-boot minimum
/// (esp_get_minimum_free_heap_size); this gives one a driver can restart. Allocations by C
/// code (WiFi, lwIP) are seen at the next Rust allocation.
struct SampledHeap;

#[global_allocator]
static ALLOCATOR: SampledHeap = SampledHeap;

// SAFETY: every call goes to the system allocator unchanged; sampling only reads a counter.
unsafe impl GlobalAlloc for SampledHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc(layout) };
        sample_free_heap();
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        sample_free_heap();
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        sample_free_heap();
        ptr
    }
}

fn sample_free_heap() {
    // SAFETY: no preconditions; reads the heap's counters.
    let free = unsafe { sys::esp_get_free_heap_size() };
    WINDOW_MIN_FREE.fetch_min(free, Ordering::Relaxed);
}

/// Free and minimum-ever-free heap, internal RAM and PSRAM together, as ESP-IDF counts them.
struct EspHeap {
    /// Free heap when the current window began.
    window_start: AtomicU32,
}

impl EspHeap {
    fn new() -> Self {
        // SAFETY: no preconditions.
        let free = unsafe { sys::esp_get_free_heap_size() };
        WINDOW_MIN_FREE.store(free, Ordering::Relaxed);
        EspHeap {
            window_start: AtomicU32::new(free),
        }
    }
}

impl Heap for EspHeap {
    fn free(&self) -> Option<u64> {
        // SAFETY: no preconditions.
        Some(unsafe { sys::esp_get_free_heap_size() } as u64)
    }
    fn min_free(&self) -> Option<u64> {
        // SAFETY: no preconditions.
        Some(unsafe { sys::esp_get_minimum_free_heap_size() } as u64)
    }
    fn take_window(&self) -> Option<HeapWindow> {
        // SAFETY: no preconditions.
        let free = unsafe { sys::esp_get_free_heap_size() };
        let start = self.window_start.swap(free, Ordering::Relaxed);
        let min = WINDOW_MIN_FREE.swap(free, Ordering::Relaxed).min(free);
        Some(HeapWindow {
            start_free: start as u64,
            min_free: min as u64,
        })
    }
}

/// Console lines on stdout, which ESP-IDF routes to the console (UART or USB-Serial-JTAG); newlib
/// turns `\n` into `\r\n` (CONFIG_NEWLIB_STDOUT_LINE_ENDING_CRLF).
struct StdoutConsole;

impl ConsoleSink for StdoutConsole {
    fn write_line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}

/// hickory-style resolvers that read the system configuration call gethostname(), which
/// ESP-IDF's newlib lacks; the firmware does no DNS, so a fixed name is enough. Unused (and
/// dropped by the linker) when no dependency needs it.
#[unsafe(no_mangle)]
pub extern "C" fn gethostname(name: *mut std::ffi::c_char, len: usize) -> std::ffi::c_int {
    const HOSTNAME: &[u8] = b"irohconf-fw\0";
    if name.is_null() || len < HOSTNAME.len() {
        return -1;
    }
    // SAFETY: `name` points to at least `len` writable bytes (the caller's contract).
    unsafe { std::ptr::copy_nonoverlapping(HOSTNAME.as_ptr(), name.cast(), HOSTNAME.len()) };
    0
}
