//! The board's heap on Linux: every allocation of the process is counted, and from the moment the
//! application is ready (its endpoint bound, `Router started`) what it allocates beyond that
//! point is held to a budget, the free heap an ESP32 has for the application (`--heap`, from the
//! board profile).
//!
//! Why from the ready point: on Linux, binding the endpoint runs paths the chip does not (iroh
//! reads the interfaces and routes over netlink, about 1 MiB for a moment, and its sockets read
//! 32 datagrams at a time where ESP-IDF reads one), so what the process holds at that point says
//! little about the board. Connections, streams, echoes and dials, what the suites test, are
//! charged in full. What the bound endpoint holds while idle is not, so the virtual board is that
//! much more lenient than a board.
//!
//! The figures are ESP-IDF's: free bytes now, the lowest free since boot, and a window a driver
//! can bracket work with. An allocation past the budget ends the board as an ESP32 ends: Rust's
//! `memory allocation of N bytes failed`, then ESP-IDF's `abort() was called` line on the
//! console, then the process aborts (a board would reboot; the driver sees the crash either way).
//! Counted are the bytes asked for; ESP-IDF's heap also spends a few bytes per block, and 64-bit
//! pointers make many structures larger here than on the 32-bit chip.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use fw_app::platform::{Heap, HeapWindow};

/// No budget: the count runs, nothing is refused and no figures are reported.
const UNLIMITED: usize = usize::MAX;

/// An allocation has failed and the board is about to abort.
static ABORTING: AtomicBool = AtomicBool::new(false);

/// A counting allocator over the system's.
pub struct BoardHeap {
    budget: AtomicUsize,
    used: AtomicUsize,
    /// In use when the application became ready; the budget covers what comes on top.
    baseline: AtomicUsize,
    /// The budget is enforced: the application is ready.
    enforcing: AtomicBool,
    /// The most in use since this boot began.
    boot_peak: AtomicUsize,
    /// In use when the current window began, and the most in use since.
    window_start: AtomicUsize,
    window_peak: AtomicUsize,
    /// Where the abort lines go: the console pty's master, once open.
    console_fd: AtomicI32,
}

#[global_allocator]
pub static HEAP: BoardHeap = BoardHeap {
    budget: AtomicUsize::new(UNLIMITED),
    used: AtomicUsize::new(0),
    baseline: AtomicUsize::new(0),
    enforcing: AtomicBool::new(false),
    boot_peak: AtomicUsize::new(0),
    window_start: AtomicUsize::new(0),
    window_peak: AtomicUsize::new(0),
    console_fd: AtomicI32::new(-1),
};

impl BoardHeap {
    /// Sets the budget; counting started with the process, so what is in use already counts.
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::SeqCst);
    }

    /// Sends the abort lines to `fd` too (the console), as well as to stderr.
    pub fn set_console_fd(&self, fd: i32) {
        self.console_fd.store(fd, Ordering::SeqCst);
    }

    /// A new boot: nothing is enforced until the application is ready again.
    pub fn new_boot(&self) {
        self.enforcing.store(false, Ordering::SeqCst);
    }

    /// The application is ready: what is in use now is the baseline, the budget applies to what
    /// comes on top, and the lowest-free-since-boot figure and the window start here.
    pub fn ready(&self) {
        let used = self.used.load(Ordering::SeqCst);
        self.baseline.store(used, Ordering::SeqCst);
        self.boot_peak.store(used, Ordering::SeqCst);
        self.window_start.store(used, Ordering::SeqCst);
        self.window_peak.store(used, Ordering::SeqCst);
        self.enforcing.store(true, Ordering::SeqCst);
    }

    /// Bytes charged to the budget: allocated beyond the baseline.
    fn charged(&self, used: usize) -> usize {
        used.saturating_sub(self.baseline.load(Ordering::SeqCst))
    }

    fn budget(&self) -> Option<usize> {
        match self.budget.load(Ordering::SeqCst) {
            UNLIMITED => None,
            budget => Some(budget),
        }
    }

    /// Counts `bytes` more in use, or refuses them when they do not fit the budget.
    fn reserve(&self, bytes: usize) -> bool {
        let used = self.used.fetch_add(bytes, Ordering::SeqCst) + bytes;
        if self.enforcing.load(Ordering::SeqCst)
            && self.charged(used) > self.budget.load(Ordering::SeqCst)
        {
            self.used.fetch_sub(bytes, Ordering::SeqCst);
            return false;
        }
        self.boot_peak.fetch_max(used, Ordering::SeqCst);
        self.window_peak.fetch_max(used, Ordering::SeqCst);
        true
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// What an ESP32 prints when an allocation fails (Rust's alloc error message, then
    /// ESP-IDF's abort), on the console and stderr; then the process aborts. Allocates nothing.
    /// It waits a moment first, as a board's panic handler takes a moment before it reboots: a
    /// pty's unread output is lost when its master closes, so the driver must read it first.
    /// Another thread that runs out meanwhile waits too.
    fn exhausted(&self, bytes: usize) -> ! {
        if ABORTING.swap(true, Ordering::SeqCst) {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        let mut text = [0u8; 320];
        let mut out = &mut text[..];
        let _ = write!(
            out,
            "memory allocation of {bytes} bytes failed\r\n\
             abort() was called on core 0: heap exhausted ({} of {} bytes in use)\r\n",
            self.charged(self.used.load(Ordering::SeqCst)),
            self.budget.load(Ordering::SeqCst),
        );
        let unused = out.len();
        let len = text.len() - unused;
        for fd in [self.console_fd.load(Ordering::SeqCst), 2] {
            if fd >= 0 {
                // SAFETY: writes `len` initialised bytes from a live buffer to a descriptor.
                unsafe { nix::libc::write(fd, text.as_ptr().cast(), len) };
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        std::process::abort()
    }
}

// SAFETY: every call goes to the system allocator with the caller's layout; the count only
// decides whether to make the call.
unsafe impl GlobalAlloc for BoardHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !self.reserve(layout.size()) {
            self.exhausted(layout.size());
        }
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            self.release(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !self.reserve(layout.size()) {
            self.exhausted(layout.size());
        }
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            self.release(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        self.release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_size = layout.size();
        if new_size > old_size && !self.reserve(new_size - old_size) {
            self.exhausted(new_size);
        }
        // SAFETY: the caller's contract, passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old_size {
                self.release(new_size - old_size);
            }
        } else if new_size < old_size {
            self.release(old_size - new_size);
        }
        new
    }
}

/// The application's view of [`HEAP`]: free bytes under the budget.
pub struct BudgetHeap;

impl BudgetHeap {
    /// Free bytes under the budget when `used` bytes are in use.
    fn free_at(used: usize) -> Option<u64> {
        let budget = HEAP.budget()?;
        Some(budget.saturating_sub(HEAP.charged(used)) as u64)
    }
}

impl Heap for BudgetHeap {
    fn free(&self) -> Option<u64> {
        Self::free_at(HEAP.used.load(Ordering::SeqCst))
    }

    fn min_free(&self) -> Option<u64> {
        Self::free_at(HEAP.boot_peak.load(Ordering::SeqCst))
    }

    fn take_window(&self) -> Option<HeapWindow> {
        let used = HEAP.used.load(Ordering::SeqCst);
        let start = HEAP.window_start.swap(used, Ordering::SeqCst);
        let peak = HEAP.window_peak.swap(used, Ordering::SeqCst);
        Some(HeapWindow {
            start_free: Self::free_at(start)?,
            min_free: Self::free_at(peak)?,
        })
    }

    fn application_ready(&self) {
        HEAP.ready();
    }
}
